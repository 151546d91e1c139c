#!/bin/sh
# Rebuilds Samples/store from the seeded generator. The result is the same, byte for byte,
# on every run (the tests check this), so the committed store is reproducible.
set -eu
cd "$(dirname "$0")/.."
swift build --product runql >/dev/null
runql="$(swift build --show-bin-path)/runql"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
"$runql" generate --runs 150 --steps 80 --seed 42 --out "$data"
rm -rf Samples/store
"$runql" init Samples/store
"$runql" import jsonl --store Samples/store "$data/runs.jsonl" "$data/history.jsonl"
