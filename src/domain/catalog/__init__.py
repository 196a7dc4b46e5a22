"""The catalog: content items and series a creator publishes."""
