#!/usr/bin/env bash
# `make run`: starts one node in the foreground on the embedded default (API.md "The node"):
# data in ./data, HTTP on 127.0.0.1:7700, cluster port 127.0.0.1:7701. Extra arguments go to
# debros-node. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Starting debros-node (data in ./data). Stop with Ctrl-C."
exec build/bin/debros-node "$@"
