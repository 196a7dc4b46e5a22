"""Offerings: authoring, the public listing, sessions and slots, and bookings."""
