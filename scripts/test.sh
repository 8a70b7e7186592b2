#!/usr/bin/env bash
# The whole test suite on SQLite and PostgreSQL (127.0.0.1:5432, database "test", or
# MEMBER_API_TEST_POSTGRES_URL). Under CI=true an unreachable PostgreSQL fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
.venv/bin/ruff check --quiet member_api tests benchmarks
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
exec .venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
