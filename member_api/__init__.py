"""member-api: the member self-service backend of Shaoguan's residents' outpatient pooling."""
