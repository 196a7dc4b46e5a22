"""The entitlement rules: who may see which content, and why."""
