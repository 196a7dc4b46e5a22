"""Repositories: rows to aggregates and back, one module per aggregate."""
