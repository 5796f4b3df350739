#!/usr/bin/env bash
# `make run`: starts one node in the foreground on the embedded default (API.md "The node"):
# data in ./data, HTTP on 127.0.0.1:7700, cluster port 127.0.0.1:7701. Extra arguments go to
# debros-node (e.g. `make run ARGS="--no-auth"`). Stop it with Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."

# The data directory and whether authentication is on, as the node will read its arguments.
data_dir=./data
auth=on
prev=
for arg in "$@"; do
  case "$prev" in --data-dir) data_dir=$arg ;; esac
  case "$arg" in
    --data-dir=*) data_dir=${arg#--data-dir=} ;;
    --no-auth) auth=off ;;
  esac
  prev=$arg
done

banner() {
  local http="$1" token env=""
  # The CLI's defaults are this node's defaults; say how to reach any other.
  if [ "$http" != 127.0.0.1:7700 ]; then env="DEBROS_NODE=http://$http "; fi
  if [ "$auth" = on ] && [ "$data_dir" != ./data ] && [ "$data_dir" != data ]; then
    env="${env}DEBROS_TOKEN=\$(cat $data_dir/admin.token) "
  fi
  if [ "$auth" = on ]; then
    token="admin token  $data_dir/admin.token  (the CLI reads ./data/admin.token; send it as
                 \"Authorization: Bearer TOKEN\" from other clients)"
  else
    token="auth         off (--no-auth): every request acts as the admin"
  fi
  cat <<TXT

  Debros is running.
    HTTP API     http://$http
    data         $data_dir
    $token

  Try, in another terminal:
    ${env}build/bin/debros health
    ${env}build/bin/debros model apply apps/examples/blog/models/User.json
    ${env}build/bin/debros create User '{"username": "alice", "email": "alice@example.com"}'
    ${env}build/bin/debros query User --where "username = alice"

  The blog example loads demo data: ${env}apps/examples/blog/load.sh
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
