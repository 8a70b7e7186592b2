"""Jobs run from the command line or cron: housekeeping, blob GC, yearly rollover, demo seeding."""
