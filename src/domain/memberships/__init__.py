"""Subscription tiers and the Subscription aggregate."""
