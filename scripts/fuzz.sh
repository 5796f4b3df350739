#!/usr/bin/env bash
# make fuzz: runs every libFuzzer target of build-fuzz for FUZZ_SECONDS (default 600) on one
# core each, one after another, starting from fuzz/corpus/<target>/ and keeping what it finds in
# build-fuzz/corpus/<target>/. A crash stops the run (its input is in build-fuzz/findings/).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${FUZZ_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-600}
mkdir -p "$dir/findings"
for bin in "$dir"/bin/debros-fuzz-*; do
  name=${bin##*/debros-fuzz-}
  mkdir -p "$dir/corpus/$name"
  echo "== $name: ${seconds}s"
  status=0
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$dir/findings/$name-" \
    "$dir/corpus/$name" "fuzz/corpus/$name" >"$dir/findings/$name.log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ *DONE)" \
    "$dir/findings/$name.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$dir/findings/$name.log" >&2
    echo "fuzz: $name found a problem (see $dir/findings)" >&2
    exit 1
  fi
done
