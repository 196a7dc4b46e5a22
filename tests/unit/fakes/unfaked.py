"""What the in-memory fakes leave out on purpose.

A few ports (memberships, credits, waitlists, portals, calendar feeds, resources, API keys,
and the bookings' reminders and calendars) have no in-memory fake: their use cases are
tested against PostgreSQL and SQLite in tests/integration. The fakes still name those
members, so that each is a whole port for the type checker, and this is what they raise
if a unit test ever reaches one.
"""

from __future__ import annotations


def not_faked(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"{name} has no in-memory fake: test this use case in tests/integration")
