"""Calendar files."""
