#!/bin/sh
# runql against DuckDB on the same generated data: Benchmarks/run.sh [small] [medium] [large] [--repeat N] [--refresh]
# Builds release binaries, makes a virtual environment with DuckDB (Benchmarks/.venv), and runs
# Benchmarks/bench.py. Data and stores are kept in Benchmarks/data/ (git-ignored) between runs.
# Also times whole `runql -c Q1` processes with the index cache cold and warm; --refresh adds an
# incremental refresh after appending 1,000 history lines to one run (on a scratch copy of the store).
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product runql >/dev/null
swift build -c release --product runql-bench >/dev/null
if [ ! -x Benchmarks/.venv/bin/python ]; then
  python3 -m venv Benchmarks/.venv
  Benchmarks/.venv/bin/pip install -q duckdb
fi
# DuckDB's CLI, for whole-process times on a persisted database.
[ -x Benchmarks/.venv/bin/duckdb ] || Benchmarks/.venv/bin/pip install -q duckdb-cli
exec Benchmarks/.venv/bin/python Benchmarks/bench.py "$@"
