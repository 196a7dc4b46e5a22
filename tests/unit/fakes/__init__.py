"""In-memory implementations of the application's ports, for fast unit tests."""
