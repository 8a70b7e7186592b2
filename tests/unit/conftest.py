"""Unit tests: the pure policy and helpers, with no web framework, database driver or ORM imported."""

from hypothesis import settings

# Timing is not behaviour: on a shared 2-core machine a slow example is not a failure.
settings.register_profile("member_api", deadline=None)
settings.load_profile("member_api")
