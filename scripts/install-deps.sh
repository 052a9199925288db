#!/usr/bin/env bash
# Installs everything the product and its tests need on a fresh Debian machine (run as root).
# Idempotent: does nothing when all is present.
set -euo pipefail
APT_PACKAGES=(pkg-config libpq-dev libcurl4-openssl-dev libopenblas-dev libmicrohttpd-dev libyaml-dev
              libzstd-dev zlib1g-dev libssl-dev postgresql python3-doc zstd)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH
  else echo "error: the Swift 6.3 toolchain is required (expected swift on PATH or in /opt/swift)" >&2; exit 1; fi
fi
