"""Media on the local filesystem, served by the app through signed, expiring URLs."""
