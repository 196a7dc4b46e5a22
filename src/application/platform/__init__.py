"""Platform-wide settings use cases."""
