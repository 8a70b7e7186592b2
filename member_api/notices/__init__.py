"""Notices to members about their fund movements and disputes, and their push delivery."""
