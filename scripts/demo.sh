#!/usr/bin/env bash
# The main job on a fresh machine: local control plane, CRDs, the controller, and a demo rollout (a good version
# promoted, a bad one rolled back by its analysis; see rollouts/cli/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
rollwave dev up
eval "$(rollwave dev env)"
exec rollwave demo "$@"
