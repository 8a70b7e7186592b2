#!/usr/bin/env bash
# Create .venv and install the project (with the dev extra when $1 is "dev"). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
extra=""
[ "${1:-}" = "dev" ] && extra="[dev]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extra}"
# Swagger UI for /docs (renders OpenAPI 3.1 offline): the npm package pinned in package.json, into node_modules/
# (git-ignored), no install scripts run. Skipped when that version is there already.
want=$(.venv/bin/python -c 'import json; print(json.load(open("package.json"))["dependencies"]["swagger-ui-dist"])')
have=$(.venv/bin/python -c 'import json; print(json.load(open("node_modules/swagger-ui-dist/package.json"))["version"])' \
  2>/dev/null || true)
if [ "$want" != "$have" ]; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  elif [ "${CI:-}" = "true" ]; then
    echo "npm is missing: /docs needs swagger-ui-dist (apt-get install -y npm)" >&2
    exit 1
  else
    echo "warning: npm is missing, so /docs has no Swagger UI (apt-get install -y npm)" >&2
  fi
fi
