"""Referrals approved by the designated facility (R10)."""
