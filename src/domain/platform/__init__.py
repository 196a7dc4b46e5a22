"""The platform's own configuration: branding, homepage, contact."""
