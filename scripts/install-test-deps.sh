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
# The dashboard's browser test (DashboardBrowserTests): headless Chromium and its WebDriver from Debian, driven
# by Selenium; Pillow decodes the screenshots to check they are not blank.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "installing the dashboard test's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium chromium-driver >/dev/null
fi
BROWSER_PACKAGES=(selenium pillow)
if ! python3 -c 'import selenium, PIL' >/dev/null 2>&1; then
  echo "installing the dashboard test's Python packages: ${BROWSER_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${BROWSER_PACKAGES[@]}"
fi
