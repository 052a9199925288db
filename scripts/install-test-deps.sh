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
# PyTorch for the DDP gang of the `command` kind (CommandGangClusterTests): the CPU wheel from PyTorch's index, else
# the one on PyPI (or a local wheel directory pip is configured to find) when that index is unreachable.
if ! python3 -c 'import torch.distributed' >/dev/null 2>&1; then
  echo "installing torch (CPU) for the DDP gang test"
  python3 -m pip install -q --disable-pip-version-check torch --index-url https://download.pytorch.org/whl/cpu \
    >/dev/null 2>&1 || python3 -m pip install -q --disable-pip-version-check torch
fi
# Hugging Face transformers for the export test (HuggingFaceExportTests, scripts/hf_export_check.py): it loads
# `opsctl export --format hf` output with GPT2LMHeadModel and AutoTokenizer (torch comes from the step above).
if ! python3 -c 'import transformers' >/dev/null 2>&1; then
  echo "installing transformers for the Hugging Face export test"
  python3 -m pip install -q --disable-pip-version-check transformers
fi
# The Python SDK's tests (docs/python.md): PyYAML for YAML manifests (installed above with the API checks) and pandas
# for Client.metrics_frame (PythonClientTests); the SDK itself needs neither.
if ! python3 -c 'import pandas' >/dev/null 2>&1; then
  echo "installing pandas for the Python SDK's tests"
  python3 -m pip install -q --disable-pip-version-check pandas
fi
# The deployment tests (issue 19): `openssl` makes the TLS tests' CA and certificates, `systemd-analyze` verifies
# the systemd units, `kubectl kustomize` renders the Kubernetes manifests offline (Debian's kubernetes-client).
if ! command -v openssl >/dev/null 2>&1 || ! command -v systemd-analyze >/dev/null 2>&1 \
  || ! command -v kubectl >/dev/null 2>&1; then
  echo "installing the deployment tests' openssl, systemd and kubernetes-client"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openssl systemd kubernetes-client >/dev/null
fi
# A real Prometheus for PrometheusScrapeTests: it scrapes a control plane's /metrics and answers PromQL queries.
if [ ! -x /usr/bin/prometheus ]; then
  echo "installing the metrics test's Prometheus"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq prometheus >/dev/null
fi
# The API's description checks (docs/api.md): openapi-spec-validator for /openapi.json, jsonschema and PyYAML for
# `opsctl schema` against manifests/, and schemathesis to fuzz a live control plane (APIFuzzTests, api-fuzz.sh).
API_PACKAGES=(openapi-spec-validator jsonschema pyyaml schemathesis)
if ! python3 -c 'import openapi_spec_validator, jsonschema, yaml, schemathesis' >/dev/null 2>&1; then
  echo "installing the API description checks: ${API_PACKAGES[*]}"
  python3 -m pip install -q --disable-pip-version-check "${API_PACKAGES[@]}"
fi
# The shells `opsctl completion zsh|fish` writes for (ShellCompletionTests parse and run their scripts).
if ! command -v zsh >/dev/null 2>&1 || ! command -v fish >/dev/null 2>&1; then
  echo "installing zsh and fish for the shell-completion tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq zsh fish >/dev/null
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
# A real Slurm for the worker pool test (SlurmWorkerPoolTests): slurmctld, slurmd and the client commands, and munge
# for their authentication, from Debian (bookworm: Slurm 22.05). The test starts its own daemons.
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "installing the worker pool test's slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq slurm-wlm munge >/dev/null
fi
