#!/usr/bin/env bash
# `make run`: starts one node in the foreground on the embedded default (API.md "The node"):
# data in ./data, HTTP on 127.0.0.1:7700, cluster port 127.0.0.1:7701. Extra arguments go to
# debros-node (e.g. `make run ARGS="--no-auth"`). Stop it with Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."

banner() {
  local http="$1"
  cat <<TXT

  Debros is running.
    HTTP API     http://$http
    data         ./data
    admin token  ./data/admin.token  (the CLI reads it from there; send it as
                 "Authorization: Bearer TOKEN" from other clients)

  Try, in another terminal:
    build/bin/debros health
    build/bin/debros model apply apps/examples/blog/models/User.json
    build/bin/debros create User '{"username": "alice", "email": "alice@example.com"}'
    build/bin/debros query User --where "username = alice"

  The blog example loads demo data: apps/examples/blog/load.sh
  Stop with Ctrl-C.

TXT
}

build/bin/debros-node "$@" | while IFS= read -r line; do
  echo "$line"
  case "$line" in
    "debros-node ready "*)
      http=${line#*http=}
      banner "${http%% *}"
      ;;
  esac
done
