"""A peer for the bench: the access check as a team would commonly write it."""
