"""Identity: users, roles, credentials, sessions and login throttling."""
