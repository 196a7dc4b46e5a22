"""Tiers, subscriptions and their lifecycle."""
