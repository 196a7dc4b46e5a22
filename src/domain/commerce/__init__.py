"""Commerce: one-time purchases of content and series, their revenue split and refunds."""
