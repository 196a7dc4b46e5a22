"""The ``patronage`` command line."""
