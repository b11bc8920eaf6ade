#!/usr/bin/env bash
# Sets up, trains the quick model if none exists, and classifies the bundled sample reviews.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ulasan demo "$@"
