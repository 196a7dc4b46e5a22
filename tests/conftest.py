"""Shared test setup: the PostgreSQL server the integration tests create databases on."""

from __future__ import annotations

import os

ADMIN_URL = os.environ.get(
    "PATRONAGE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
