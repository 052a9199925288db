#!/usr/bin/env bash
# Python reference implementations the tests compare against (Hugging Face tokenizers, safetensors).
set -euo pipefail
PY_PACKAGES=(tokenizers safetensors numpy)
if ! python3 -c 'import tokenizers, safetensors, numpy' >/dev/null 2>&1; then
  echo "installing Python test references: ${PY_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
fi
