#!/usr/bin/env bash
# Quick start: install, migrate, load the demo data and serve on http://$HOST:$PORT (127.0.0.1:8000 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p var
.venv/bin/member-api migrate
.venv/bin/member-api seed-demo --manifest var/demo-accounts.json
base="http://${HOST:-127.0.0.1}:${PORT:-8000}"
echo "Resident app: $base/app/  Staff console: $base/console/  API docs: $base/docs  FHIR: $base/fhir/R4"
echo "Demo accounts: var/demo-accounts.json; SMS codes: var/sms.jsonl"
exec .venv/bin/member-api serve --no-migrate --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --workers "${WORKERS:-1}"
