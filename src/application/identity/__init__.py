"""Identity use cases: registration, verification, login, sessions, passwords, profile."""
