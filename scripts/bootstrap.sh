#!/usr/bin/env bash
# Creates .venv from pyproject.toml (again only when pyproject.toml changed). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "rollwave needs Python >= 3.11"' 
stamp=.venv/.pyproject.sha
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
echo "==> creating .venv and installing rollwave with its dev tools" >&2
"$PY" -m venv .venv
.venv/bin/pip install -q --upgrade pip >&2
.venv/bin/pip install -q -e '.[dev]' >&2
echo "$want" > "$stamp"
