#!/usr/bin/env bash
# MinHash LSH near-duplicate detection: ours (DedupBench) against datatrove (PyPI, installed here if missing) on the
# same synthetic corpus with the same parameters (5-word shingles, 14 bands × 8 rows, seed 1), one core each
# (docs/dedup.md). Prints throughput (MB/s of text per CPU second: user + system time of the whole process, so that
# other load on the machine does not count), wall seconds, peak RSS (/usr/bin/time -v), and precision/recall of the
# pairs each finds against exact Jaccard >= 0.72 of every pair sharing a shingle.
#   bash scripts/bench-dedup.sh [documents, default 5000] [our reducer's memoryLimitBytes, default 67108864]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
DOCUMENTS="${1:-5000}"
LIMIT="${2:-67108864}"
if ! python3 -c 'import datatrove, xxhash, spacy' >/dev/null 2>&1; then
  echo "installing datatrove (with xxhash<4, which its hashing needs, and spacy, its English word tokenizer)"
  python3 -m pip install -q --disable-pip-version-check datatrove 'xxhash<4' spacy
fi
# DEDUP_BENCH=<path>: an already built DedupBench (e.g. from the test build) instead of building it here.
BENCH="${DEDUP_BENCH:-}"
if [[ -z "$BENCH" ]]; then
  swift build -c release --product DedupBench >/dev/null
  BENCH=.build/release/DedupBench
fi
WORK=$(mktemp -d /tmp/bench-dedup.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$BENCH" generate "$WORK/corpus.jsonl" "$DOCUMENTS" 1
BYTES=$(python3 -c "import json,sys; print(sum(len(json.loads(l)['text'].encode()) for l in open(sys.argv[1])))" "$WORK/corpus.jsonl")

# One process each, one core each (taskset), peak RSS from GNU time.
taskset -c 0 /usr/bin/time -v "$BENCH" run "$WORK/corpus.jsonl" "$WORK/ours.tsv" "$LIMIT" 1 >"$WORK/ours.out" 2>"$WORK/ours.time"
taskset -c 0 /usr/bin/time -v python3 Benchmarks/DedupBench/datatrove_bench.py "$WORK/corpus.jsonl" "$WORK/dt" "$WORK/datatrove.tsv" >"$WORK/dt.out" 2>"$WORK/dt.time"
grep '^ours:' "$WORK/ours.out"
cpu() { awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"; }
ours_s=$(cpu "$WORK/ours.time")
dt_s=$(cpu "$WORK/dt.time")
ours_w=$(wall "$WORK/ours.time")
dt_w=$(wall "$WORK/dt.time")
ours_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/ours.time")
dt_rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/dt.time")
read -r _ ours_p ours_r < <("$BENCH" quality "$WORK/corpus.jsonl" "$WORK/ours.tsv" | tee /dev/stderr | grep '^QUALITY')
read -r _ dt_p dt_r < <("$BENCH" quality "$WORK/corpus.jsonl" "$WORK/datatrove.tsv" | tee /dev/stderr | grep '^QUALITY')
python3 - "$BYTES" "$DOCUMENTS" "$LIMIT" "$ours_s" "$dt_s" "$ours_rss" "$dt_rss" "$ours_p" "$ours_r" "$dt_p" "$dt_r" "$ours_w" "$dt_w" <<'PY'
import sys
b, docs, limit, os_, ds, orss, drss, op, orr, dp, dr, ow, dw = sys.argv[1:]
b, os_, ds, orss, drss, ow, dw = int(b), float(os_), float(ds), int(orss), int(drss), float(ow), float(dw)
om, dm = b / 1e6 / os_, b / 1e6 / ds
print(f"\ncorpus: {docs} documents, {b / 1e6:.1f} MB of text; our reducer's memoryLimitBytes {int(limit) >> 20} MiB; 1 core each")
print("| | MB/s per core | CPU seconds | wall seconds | peak RSS MiB | precision | recall |")
print("|---|---|---|---|---|---|---|")
print(f"| llm-ops (DedupBench) | {om:.2f} | {os_:.2f} | {ow:.2f} | {orss / 1024:.0f} | {float(op):.4f} | {float(orr):.4f} |")
print(f"| datatrove (stages 1-3) | {dm:.3f} | {ds:.2f} | {dw:.2f} | {drss / 1024:.0f} | {float(dp):.4f} | {float(dr):.4f} |")
print(f"| ratio (ours / datatrove) | {om / dm:.1f}x | | | {orss / drss:.2f}x | | |")
PY

# The reducer's memory limit on a corpus ten times larger (ours only): the accounted peak stays under the limit,
# spilling more runs as the limit shrinks; the same documents are removed whatever the limit.
"$BENCH" generate "$WORK/large.jsonl" "$((DOCUMENTS * 10))" 2 >/dev/null
echo
echo "| memoryLimitBytes | spilled runs | merge passes | accounted peak bytes | removed | CPU seconds | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
for limit in 262144 4194304 268435456; do
  taskset -c 0 /usr/bin/time -v "$BENCH" run "$WORK/large.jsonl" "$WORK/large.tsv" "$limit" 1 >"$WORK/large.out" 2>"$WORK/large.time"
  python3 - "$limit" "$(cpu "$WORK/large.time")" "$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/large.time")" "$WORK/large.out" <<'PY'
import re, sys
limit, cpu_s, rss = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
line = next(l for l in open(sys.argv[4]) if l.startswith("ours:"))
removed = re.search(r"removed (\d+)", line).group(1)
peak, runs, passes = re.search(r"reducer peak (\d+) of \d+ bytes, (\d+) spilled runs, (\d+) merge passes", line).groups()
print(f"| {limit} | {runs} | {passes} | {peak} | {removed} | {cpu_s:.2f} | {rss / 1024:.0f} |")
PY
done
