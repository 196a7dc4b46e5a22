"""Ports: what the application needs from the outside world, one module per area."""
