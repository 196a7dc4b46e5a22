"""Offerings: events, programs, classes, bookable sessions, cohorts and retreats."""
