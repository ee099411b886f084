#!/usr/bin/env bash
# The whole test suite: static checks, then unit and cluster tests against the local control plane.
# Installs what it needs (virtualenv, Debian's Prometheus, the Go-built control plane) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "==> static checks: ruff, mypy --strict, import-linter" >&2
ruff check .
ruff format --check .
mypy --strict rollouts benchmarks
lint-imports
echo "==> local control plane (built once, then cached)" >&2
rollwave dev up
eval "$(rollwave dev env)"
echo "==> pytest" >&2
exec pytest -q -ra --timeout=600 "$@"
