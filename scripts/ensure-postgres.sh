#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use is reachable: start the local
# cluster if it is installed but down; otherwise say clearly what is missing.
set -euo pipefail

url="${PATRONAGE_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
py=".venv/bin/python"

reachable() {
  "$py" - "$url" <<'PY' >/dev/null 2>&1
import sys
import psycopg
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                password=u.password, dbname=u.database or "postgres", connect_timeout=3).close()
PY
}

if reachable; then
  exit 0
fi

if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
  echo "PostgreSQL is installed but not answering; starting the local cluster(s)..."
  pg_lsclusters -h | while read -r version cluster _port status _rest; do
    if [ "$status" != "online" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    fi
  done
  for _ in $(seq 1 30); do
    if reachable; then exit 0; fi
    sleep 1
  done
fi

echo "PostgreSQL is not reachable (PATRONAGE_TEST_DATABASE_URL, default 127.0.0.1:5432) and" \
     "no local cluster could be started: install PostgreSQL 15+ or point" \
     "PATRONAGE_TEST_DATABASE_URL at a server where the tests may create databases." >&2
exit 1
