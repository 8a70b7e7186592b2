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
# Browser assets from npm, pinned in package.json, into node_modules/ (git-ignored), no install scripts run:
# Swagger UI for /docs (renders OpenAPI 3.1 offline) and axe-core (served to the test browser only, never by the
# app). Skipped when those versions are there already.
want=$(.venv/bin/python -c 'import json; print(sorted(json.load(open("package.json"))["dependencies"].items()))')
have=$(.venv/bin/python -c '
import json
deps = json.load(open("package.json"))["dependencies"]
print(sorted((n, json.load(open(f"node_modules/{n}/package.json"))["version"]) for n in deps))' 2>/dev/null || true)
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
# A CJK font for the 参保证明 PDF (WeasyPrint uses the system's fonts) and legible screenshots: best effort.
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >/dev/null 2>&1 \
      || echo "warning: no CJK font (apt-get install -y fonts-noto-cjk): certificates print boxes" >&2
  else
    echo "warning: no CJK font (apt-get install -y fonts-noto-cjk): certificates print boxes" >&2
  fi
fi
