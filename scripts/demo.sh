#!/usr/bin/env bash
# The main job on a fresh machine: local control plane, CRDs, the controller, and an Application synced from a Git
# repository holding examples/app (a bad commit rolled back by its analysis, a good one promoted; see
# rollouts/cli/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
rollwave dev up
eval "$(rollwave dev env)"
exec rollwave demo "$@"
