"""Operational use cases: health."""
