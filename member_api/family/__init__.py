"""P1: adult relatives acting for a member with consent, scope by scope; guardianship of minors until 18."""
