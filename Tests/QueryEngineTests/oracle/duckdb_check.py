#!/usr/bin/env python3
"""Checks golden records against DuckDB on the same data.

For every record of golden/duckdb_checked.test, runs the DuckDB twin of its query (the line
`# duckdb: SQL` above it, or the same SQL) over the sample store loaded into DuckDB tables, and
compares the rows with the record's expected block. Run it after recording the golden files:

    python3 -m venv /tmp/duckvenv && /tmp/duckvenv/bin/pip install duckdb
    /tmp/duckvenv/bin/python Tests/QueryEngineTests/oracle/duckdb_check.py [GOLDEN_FILE]

GOLDEN_FILE defaults to golden/duckdb_checked.test (golden/window_functions.test is checked the
same way). A record preceded by `# duckdb: skip …` is not checked: runql answers it differently
on purpose (NaN order, max skipping NaN) or with syntax DuckDB lacks (run.name).

The tables: runs(id, name, entity, project, state, "group", job_type, tags, user, host, created_at,
runtime, val_f1, learning_rate, optimizer, arch, seed) and history(run_id, _step, train_loss, val_acc).
"""
import json
import math
import os
import sys

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
STORE = os.path.join(REPO, "Samples", "store")
GOLDEN = os.path.join(HERE, "..", "golden", "duckdb_checked.test")


def load_json(path, default):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def store_rows():
    runs, history = [], []
    entities = os.path.join(STORE, "entities")
    for entity in sorted(os.listdir(entities)):
        for project in sorted(os.listdir(os.path.join(entities, entity))):
            base = os.path.join(entities, entity, project, "runs")
            for run_id in sorted(os.listdir(base)):
                folder = os.path.join(base, run_id)
                meta = load_json(os.path.join(folder, "run.json"), {})
                config = load_json(os.path.join(folder, "config.json"), {})
                summary = load_json(os.path.join(folder, "summary.json"), {})
                lr = config.get("learning_rate")
                runs.append((
                    meta["id"], meta.get("name"), meta["entity"], meta["project"], meta.get("state"), meta.get("group"),
                    meta.get("job_type"), meta.get("tags") or [], meta.get("user"), meta.get("host"),
                    meta.get("created_at", "").replace("T", " ").replace("Z", "") or None, meta.get("runtime"),
                    summary.get("val/f1"), lr if isinstance(lr, (int, float)) else None, config.get("optimizer"),
                    (config.get("model") or {}).get("arch"), config.get("seed"),
                ))
                history_path = os.path.join(folder, "history.jsonl")
                if os.path.exists(history_path):
                    with open(history_path) as handle:
                        for line in handle:
                            step = json.loads(line)
                            history.append((meta["id"], step.get("_step"), step.get("train/loss"), step.get("val/acc")))
    return runs, history


def connect():
    runs, history = store_rows()
    db = duckdb.connect()
    db.execute("""CREATE TABLE runs (id VARCHAR, name VARCHAR, entity VARCHAR, project VARCHAR, state VARCHAR, "group" VARCHAR,
        job_type VARCHAR, tags VARCHAR[], "user" VARCHAR, host VARCHAR, created_at TIMESTAMP, runtime DOUBLE, val_f1 DOUBLE,
        learning_rate DOUBLE, optimizer VARCHAR, arch VARCHAR, seed BIGINT)""")
    db.executemany("INSERT INTO runs VALUES (" + ",".join("?" * 17) + ")", runs)
    db.execute("CREATE TABLE history (run_id VARCHAR, _step BIGINT, train_loss DOUBLE, val_acc DOUBLE)")
    db.executemany("INSERT INTO history VALUES (?, ?, ?, ?)", history)
    return db


def records(golden):
    lines = open(golden).read().split("\n")
    index, twin = 0, None
    while index < len(lines):
        line = lines[index]
        if line.startswith("# duckdb: "):
            twin = line[len("# duckdb: "):]
            index += 1
        elif line.startswith("query"):
            start = index + 1
            sql = []
            index += 1
            while lines[index] != "----":
                sql.append(lines[index])
                index += 1
            index += 1
            expected = []
            while index < len(lines) and not (lines[index].startswith(("query", "statement", "load", "#"))):
                expected.append(lines[index])
                index += 1
            while expected and expected[-1] == "":
                expected.pop()
            if not (twin or "").startswith("skip"):
                yield start, twin or " ".join(sql), expected, "rowsort" in line
            twin = None
        else:
            index += 1


def same(ours, theirs):
    if ours == theirs:
        return True
    try:
        a, b = float(ours), float(theirs)
    except ValueError:
        return False
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def render(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return str(value)
    return str(value)


def main():
    golden = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN
    db = connect()
    failures = 0
    checked = 0
    for line, sql, expected, rowsort in records(golden):
        rows = ["\t".join(render(v) for v in row) for row in db.execute(sql).fetchall()]
        ours = expected[1:]
        if rowsort:
            rows.sort()
        checked += 1
        if len(rows) != len(ours) or not all(
            len(a.split("\t")) == len(b.split("\t")) and all(same(x, y) for x, y in zip(a.split("\t"), b.split("\t")))
            for a, b in zip(ours, rows)
        ):
            failures += 1
            print(f"{os.path.basename(golden)}:{line}: differs from DuckDB\n  sql: {sql}\n  runql:  {ours[:5]}\n  duckdb: {rows[:5]}")
    print(f"{checked} records checked against DuckDB {duckdb.__version__}, {failures} differ")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
