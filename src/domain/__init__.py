"""The domain: aggregates, value objects, events and rules. Pure Python and attrs."""
