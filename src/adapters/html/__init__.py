"""HTML sanitising."""
