#!/usr/bin/env bash
# The main job on a sample scenario. Installs what it needs on a fresh machine first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec uv run --frozen python scripts/demo.py "$@"
