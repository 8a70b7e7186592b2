"""FHIR R4 read API (``/fhir/R4``) over members, the ledger and facilities: a read-only adapter, no writes."""
