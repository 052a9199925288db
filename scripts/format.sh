#!/usr/bin/env bash
# The formatter: `swift format` (shipped with the toolchain) with the repository's .swift-format
# (4 spaces, 120 columns). `bash scripts/format.sh` rewrites the tree in place;
# `bash scripts/format.sh --check` lists every finding and fails if there is one (the test command runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
paths=(Sources Tests Benchmarks Package.swift)
if [[ "${1:-}" == "--check" ]]; then
    findings=$(swift format lint --recursive --parallel "${paths[@]}" 2>&1 || true)
    if [[ -n "$findings" ]]; then
        echo "$findings" | head -50
        echo "swift format: $(echo "$findings" | wc -l) finding(s); run 'bash scripts/format.sh' to fix the layout ones." >&2
        exit 1
    fi
    echo "swift format: no findings"
else
    swift format format --in-place --recursive --parallel "${paths[@]}"
fi
