#!/usr/bin/env bash
# Quick start: install, migrate, load the demo data and serve on http://127.0.0.1:8000 (docs at /docs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p var
.venv/bin/member-api migrate
.venv/bin/member-api seed-demo --manifest var/demo-accounts.json
echo "Demo accounts: var/demo-accounts.json; SMS codes: var/sms.jsonl; API docs: http://127.0.0.1:8000/docs"
exec .venv/bin/member-api serve --no-migrate --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --workers "${WORKERS:-1}"
