#!/bin/sh
# runql against DuckDB on the same generated data: Benchmarks/run.sh [small] [medium] [large] [--repeat N]
# Builds release binaries, makes a virtual environment with DuckDB (Benchmarks/.venv), and runs
# Benchmarks/bench.py. Data and stores are kept in Benchmarks/data/ (git-ignored) between runs.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product runql >/dev/null
swift build -c release --product runql-bench >/dev/null
if [ ! -x Benchmarks/.venv/bin/python ]; then
  python3 -m venv Benchmarks/.venv
  Benchmarks/.venv/bin/pip install -q duckdb
fi
exec Benchmarks/.venv/bin/python Benchmarks/bench.py "$@"
