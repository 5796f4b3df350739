#!/usr/bin/env bash
# What one deep-offset query costs a node in memory (issue 9 item 6). Starts debros-node on a
# free loopback port with a temporary data directory, defines a model of 16 shards, imports
# DOCS documents of ~300 bytes, then sends QUERIES (default 8) concurrent queries with
# offset 100000 and limit 10000 ordered by an indexed field. Prints one JSON line: the node's
# anonymous resident memory (RssAnon: the heap, not the store's file pages that LMDB maps and a
# scan touches) after the import (the baseline, same process, same run) and its peak while the
# queries run (sampled every 10 ms), then VmRSS/VmHWM (with file pages) for reference, in MB,
# and the queries' statuses.
#   bench/query_memory.sh [BUILD_DIR]   (DOCS=200000 QUERIES=8 by default)
set -euo pipefail
build=${1:-build}
docs=${DOCS:-200000}
queries=${QUERIES:-8}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/bin/debros-node" --data-dir "$dir/data" --http "127.0.0.1:$port" --no-auth \
  --cluster 127.0.0.1:0 >"$dir/node.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "ready" "$dir/node.log" && break; sleep 0.1; done
url="http://127.0.0.1:$port"
curl -sf -X PUT "$url/v1/models/Item" -H 'Content-Type: application/json' -d '{
  "fields": {"n": {"type": "number", "index": true}, "text": {"type": "string"}},
  "sharding": {"strategy": "hash", "count": 16, "key": "id"}}' >/dev/null
python3 - "$docs" >"$dir/docs.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"n": i, "text": "x" * 260}))
PY
DEBROS_NODE="$url" "$build/bin/debros" import Item "$dir/docs.jsonl" --batch 5000 >/dev/null
rss() { awk -v k="$1:" '$1 == k {print int($2 / 1024)}' "/proc/$pid/status"; }
anon_before=$(rss RssAnon)
rss_before=$(rss VmRSS)
echo "$anon_before" >"$dir/anon_peak"
( peak=$anon_before; while kill -0 "$pid" 2>/dev/null; do
    a=$(rss RssAnon); [ "$a" -gt "$peak" ] && peak=$a && echo "$peak" >"$dir/anon_peak"
    sleep 0.01; done ) &
sampler=$!
body='{"orderBy": [["n", "asc"]], "offset": 100000, "limit": 10000}'
statuses=$(for _ in $(seq "$queries"); do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST "$url/v1/models/Item/query" \
    -H 'Content-Type: application/json' -d "$body" &
done; wait)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
printf '{"bench":"query_memory","docs":%s,"queries":%s,"anon_before_mb":%s,"anon_peak_mb":%s,"rss_before_mb":%s,"hwm_mb":%s,"statuses":"%s"}\n' \
  "$docs" "$queries" "$anon_before" "$(cat "$dir/anon_peak")" "$rss_before" "$(rss VmHWM)" \
  "$(echo $statuses | tr ' ' ',')"
