#!/bin/sh
# Rebuilds the sample store from the seeded generator, plus the artifacts and lineage of the seed
# story. The result is the same, byte for byte, on every run (the tests check this; only the audit
# trail's user and host name the machine), so the committed store is reproducible.
#
#   Samples/make-sample-store.sh [STORE]     default Samples/store; $RUNQL names the binary to use
set -eu
repository="$(cd "$(dirname "$0")/.." && pwd)"
store="$(cd "$(dirname "${1:-$repository/Samples/store}")" && pwd)/$(basename "${1:-Samples/store}")"
if [ -z "${RUNQL:-}" ]; then
  (cd "$repository" && swift build --product runql >/dev/null)
  RUNQL="$(cd "$repository" && swift build --show-bin-path)/runql"
fi
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
"$RUNQL" generate --runs 150 --steps 80 --seed 42 --out "$data"
rm -rf "$store"
"$RUNQL" init "$store"
"$RUNQL" import jsonl --store "$store" "$data/runs.jsonl" "$data/history.jsonl"

# The seed story, in acme/text-classifier: a raw dataset; a cleaned dataset derived from it by a
# preprocessing run; models trained on it, promoted staging → production (and rolled back once);
# an evaluation run using the production model. Logged outside any git work tree (no commit recorded).
cd "$data"
export RUNQL_STORE="$store"
at() { SOURCE_DATE_EPOCH="$(date -u -d "$1" +%s)"; export SOURCE_DATE_EPOCH; }
run_id() { "$RUNQL" --format csv --no-header -c "SELECT id FROM runs WHERE name = '$1'"; }
cat > prep.jsonl <<'RUNS'
{"id": "prep0001", "entity": "acme", "project": "text-classifier", "name": "clean-tickets-2025q4", "job_type": "preprocess", "state": "finished", "user": "alice", "host": "data-01", "created_at": "2026-01-03T09:00:00Z", "runtime": 412.0, "config": {"dedupe": true, "min_length": 5}, "summary": {"rows_in": 6, "rows_out": 5}}
{"id": "prep0002", "entity": "acme", "project": "text-classifier", "name": "clean-tickets-2026q1", "job_type": "preprocess", "state": "finished", "user": "alice", "host": "data-01", "created_at": "2026-04-01T09:00:00Z", "runtime": 455.0, "config": {"dedupe": true, "min_length": 5}, "summary": {"rows_in": 9, "rows_out": 8}}
RUNS
"$RUNQL" import jsonl prep.jsonl

mkdir -p raw clean model
printf 'id,text,label\n1,printer on fire,hardware\n2,cannot log in,account\n3,cannot log in,account\n4,refund please,billing\n5,ok,other\n6,screen flickers,hardware\n' > raw/tickets.csv
printf '# Support tickets\nExported from the help desk, one row per ticket.\n' > raw/README.md
at 2026-01-02T12:00:00Z
"$RUNQL" artifact log acme/text-classifier/support-tickets --type dataset --dir raw \
  --description "help desk export" --metadata '{"rows": 6, "source": {"system": "zendesk", "export": "2025-Q4"}}'
printf '7,app crashes on start,bug\n8,charged twice,billing\n9,how do I export?,other\n' >> raw/tickets.csv
at 2026-03-30T12:00:00Z
"$RUNQL" artifact log support-tickets --type dataset --dir raw \
  --description "help desk export" --metadata '{"rows": 9, "source": {"system": "zendesk", "export": "2026-Q1"}}'

at 2026-01-03T09:07:00Z
"$RUNQL" artifact use support-tickets:v0 --run prep0001
printf 'text,label\nprinter on fire,hardware\ncannot log in,account\nrefund please,billing\nscreen flickers,hardware\n' > clean/train.csv
"$RUNQL" artifact log clean-tickets --type dataset --run prep0001 --dir clean --ttl 90d \
  --metadata '{"rows": 4, "dedupe": true}'
at 2026-04-01T09:08:00Z
"$RUNQL" artifact use support-tickets:v1 --run prep0002
printf 'app crashes on start,bug\ncharged twice,billing\n' >> clean/train.csv
"$RUNQL" artifact log clean-tickets --type dataset --run prep0002 --dir clean \
  --metadata '{"rows": 6, "dedupe": true}'

# Three training runs log model versions: v0 on the first clean data, v1 and v2 on the second.
train() { # run-name clean-version time
  run="$(run_id "$1")"
  at "$3"
  "$RUNQL" artifact use "clean-tickets:$2" --run "$run"
  printf 'weights of %s\n' "$1" > model/model.safetensors
  printf '{"arch": "bert-base", "labels": 5}\n' > model/config.json
  "$RUNQL" artifact log bert-classifier --type model --run "$run" --dir model --name bert-classifier \
    --metadata "{\"val_f1\": $("$RUNQL" --format csv --no-header -c "SELECT round(summary.\"val/f1\", 4) FROM runs WHERE id = '$run'")}" \
    --alias staging
}
train quiet-lake-1 v0 2026-01-05T06:00:00Z
train calm-meadow-47 v1 2026-04-07T03:00:00Z
train dashing-lake-64 v1 2026-05-11T04:00:00Z
"$RUNQL" artifact alias bert-classifier:v1 production
"$RUNQL" artifact alias bert-classifier:v2 production   # promoted…
"$RUNQL" artifact alias bert-classifier:v1 production   # …and rolled back

at 2026-05-17T05:05:00Z
"$RUNQL" artifact use bert-classifier:production --run "$(run_id quiet-dew-67)"
