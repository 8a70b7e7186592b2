"""P2: a member flags a settlement that was not theirs; the agency confirms (reversal) or rejects it."""
