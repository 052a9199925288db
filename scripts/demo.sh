#!/usr/bin/env bash
# The main command: installs what is missing, builds opsctl (release), starts a local cluster (embedded
# PostgreSQL, control plane, 2 workers) in ./state, runs the sample pipeline manifests/pipeline.yaml to the end,
# shows what it did, and stops the cluster. The state dir is kept: run it again and the jobs are still there.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product opsctl
OPSCTL="$PWD/.build/release/opsctl"
export OPS_STATE_DIR="${OPS_STATE_DIR:-$PWD/state}"
PIPELINE="${1:-manifests/pipeline.yaml}"
mkdir -p "$OPS_STATE_DIR"
rm -f "$OPS_STATE_DIR/server-url"

"$OPSCTL" up --workers "${OPS_WORKERS:-2}" > "$OPS_STATE_DIR/up.log" 2>&1 &
UP_PID=$!
stop_cluster() {
  if kill -0 "$UP_PID" 2>/dev/null; then
    echo "stopping the local cluster"
    kill -INT "$UP_PID" 2>/dev/null || true
    wait "$UP_PID" 2>/dev/null || true
  fi
}
trap stop_cluster EXIT

for _ in $(seq 1 120); do
  [ -s "$OPS_STATE_DIR/server-url" ] && break
  if ! kill -0 "$UP_PID" 2>/dev/null; then echo "opsctl up failed:"; cat "$OPS_STATE_DIR/up.log"; exit 1; fi
  sleep 0.5
done
[ -s "$OPS_STATE_DIR/server-url" ] || { echo "the cluster did not come up in 60s:"; cat "$OPS_STATE_DIR/up.log"; exit 1; }
echo "cluster up at $(cat "$OPS_STATE_DIR/server-url") (log: $OPS_STATE_DIR/up.log)"

"$OPSCTL" apply -f "$PIPELINE" --wait
echo
"$OPSCTL" get jobs
echo
"$OPSCTL" get workers
echo
"$OPSCTL" get datasets
# Every job of the pipeline (`metadata: {name: X}` or `name: X` under metadata), described without its event log.
for job in $(grep -oE '^metadata: \{name: [a-z0-9.-]+|^  name: [a-z0-9.-]+' "$PIPELINE" | awk '{print $NF}'); do
  echo
  "$OPSCTL" describe job "$job" | sed -n '1,/^Events/p' | grep -v '^Events'
done
