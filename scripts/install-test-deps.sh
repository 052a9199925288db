#!/usr/bin/env bash
# Python reference implementations the tests compare against (Hugging Face tokenizers, safetensors).
set -euo pipefail
PY_PACKAGES=(tokenizers safetensors numpy)
if ! python3 -c 'import tokenizers, safetensors, numpy' >/dev/null 2>&1; then
  echo "installing Python test references: ${PY_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
fi
# A real S3-compatible server for ObjectStoreTests and ObjectStoreBench (moto), and boto3 to check what was written.
S3_PACKAGES=('moto[server]' boto3)
if ! python3 -c 'import moto.server, boto3' >/dev/null 2>&1; then
  echo "installing the S3 test server: ${S3_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${S3_PACKAGES[@]}"
fi
# A high-availability PostgreSQL for the failover test (PatroniFailoverTests): Patroni with etcd, from Debian
# (run as root, like install-deps.sh).
if ! command -v patroni >/dev/null 2>&1 || ! command -v etcd >/dev/null 2>&1; then
  echo "installing the failover test's Patroni and etcd"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq patroni etcd-server >/dev/null
fi
# The shells `opsctl completion zsh|fish` writes for (ShellCompletionTests parse and run their scripts).
if ! command -v zsh >/dev/null 2>&1 || ! command -v fish >/dev/null 2>&1; then
  echo "installing zsh and fish for the shell-completion tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq zsh fish >/dev/null
fi
