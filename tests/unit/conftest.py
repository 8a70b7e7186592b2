"""Unit tests: the pure policy and helpers, with no web framework, database driver or ORM imported."""
