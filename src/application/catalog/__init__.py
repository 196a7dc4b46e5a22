"""Catalog use cases: authoring content and series, browsing, access, media, progress."""
