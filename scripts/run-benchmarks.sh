#!/usr/bin/env bash
# `make bench`: every benchmark at full size. Each prints JSON lines on stdout; this script also
# keeps them in build/bench-results.jsonl. Pass --quick for the CI size.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench-results.jsonl
: > "$out"
for b in build/bin/debros-bench-*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b") $*" >&2
  "$b" "$@" | tee -a "$out"
done
echo "results in $out" >&2
