#!/usr/bin/env python3
"""runql against DuckDB on the same generated data (run it through Benchmarks/run.sh).

For each size: generate the interchange data with the seeded generator, import it into a runql
store and into DuckDB tables (read_ndjson), then run the suite in both engines in one loop,
alternating query by query, several repetitions; print medians, min–max and runql/DuckDB ratios,
the import times and peak memory. Both engines must return the same rows (compared on the
first rows, floats to 6 significant digits).
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZES = {"small": (1_000, 100), "medium": (10_000, 500), "large": (10_000, 2_000)}

# name: (runql query, DuckDB twin). The twins ask the same question: NaN never ranks first and
# max skips NaN in runql, so DuckDB's versions filter or order NaN explicitly.
SUITE = {
    "Q1 best finished runs": (
        """SELECT name, summary."val/f1" AS val_f1 FROM runs WHERE state = 'finished' ORDER BY val_f1 DESC, name LIMIT 10""",
        """SELECT name, summary."val/f1" AS val_f1 FROM runs WHERE state = 'finished'
           ORDER BY isnan(summary."val/f1") NULLS LAST, val_f1 DESC NULLS LAST, name LIMIT 10""",
    ),
    "Q2 per optimizer, arch": (
        """SELECT config.optimizer, config.model.arch, count(*) AS n, avg(summary."val/f1") AS f1 FROM runs
           WHERE state = 'finished' GROUP BY ALL ORDER BY n DESC, 1, 2""",
        """SELECT config.optimizer, config.model.arch, count(*) AS n, avg(summary."val/f1") AS f1 FROM runs
           WHERE state = 'finished' GROUP BY ALL ORDER BY n DESC, 1, 2""",
    ),
    "Q3 best val/acc per run": (
        """SELECT r.name, h.best FROM (SELECT run_id, max("val/acc") AS best, arg_max(_step, "val/acc") AS step
           FROM history GROUP BY run_id) h JOIN runs r ON r.id = h.run_id ORDER BY h.best DESC, r.name LIMIT 20""",
        """SELECT r.name, h.best FROM (SELECT run_id, max("val/acc") FILTER (WHERE NOT isnan("val/acc")) AS best,
           arg_max(_step, "val/acc") FILTER (WHERE NOT isnan("val/acc")) AS step FROM history GROUP BY run_id) h
           JOIN runs r ON r.id = h.run_id ORDER BY h.best DESC NULLS LAST, r.name LIMIT 20""",
    ),
    "Q4 train/loss per 100 steps": (
        """SELECT _step // 100 * 100 AS bucket, avg("train/loss") AS loss FROM history
           WHERE run.project = 'text-classifier' GROUP BY bucket ORDER BY bucket""",
        """SELECT h._step // 100 * 100 AS bucket, avg(h."train/loss") AS loss FROM history h JOIN runs r ON r.id = h.run_id
           WHERE r.project = 'text-classifier' GROUP BY bucket ORDER BY bucket""",
    ),
    "Q5 recent bert runs": (
        """SELECT name, created_at FROM runs WHERE 'bert' IN tags
           AND created_at > (SELECT max(created_at) FROM runs) - INTERVAL 30 DAY ORDER BY created_at, name""",
        """SELECT name, created_at FROM runs WHERE list_contains(tags, 'bert')
           AND created_at > (SELECT max(created_at) FROM runs) - INTERVAL 30 DAY ORDER BY created_at, name""",
    ),
    "Q6 count and avg over history": (
        """SELECT count(*), avg("train/loss") FROM history""",
        """SELECT count(*), avg("train/loss") FROM history""",
    ),
    "Q7 best step per run with a window function": (
        """SELECT run_id, _step, "val/acc" FROM history
           QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY "val/acc" DESC, _step) = 1
           ORDER BY "val/acc" DESC, run_id LIMIT 20""",
        """SELECT run_id, _step, "val/acc" FROM history
           QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY isnan("val/acc") NULLS LAST, "val/acc" DESC NULLS LAST, _step) = 1
           ORDER BY isnan("val/acc") NULLS LAST, "val/acc" DESC NULLS LAST, run_id LIMIT 20""",
    ),
}


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def normalise(value):
    """A cell as comparable text: floats to 6 significant digits, NaN/inf spelled one way."""
    text = "NULL" if value is None else str(value)
    try:
        number = float(text)
    except ValueError:
        return text.replace("T", " ").replace("+00:00", "").rstrip("Z")
    if number != number:
        return "nan"
    if number in (float("inf"), float("-inf")):
        return "inf" if number > 0 else "-inf"
    return f"{number:.6g}"


def peak_rss_kb(pid):
    """The peak resident memory of a running process (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def prepare(size, runql, data_root):
    runs, steps = SIZES[size]
    folder = os.path.join(data_root, size)
    os.makedirs(folder, exist_ok=True)
    runs_path, history_path = os.path.join(folder, "runs.jsonl"), os.path.join(folder, "history.jsonl")
    if not os.path.exists(history_path):
        print(f"[{size}] generating {runs} runs x {steps} steps", file=sys.stderr)
        run([runql, "generate", "--runs", str(runs), "--steps", str(steps), "--seed", "1", "--out", folder])
    store = os.path.join(folder, "store")
    imports = {}
    if not os.path.exists(os.path.join(store, "runql-store.json")):
        run([runql, "init", store], stderr=subprocess.DEVNULL)
        imports["runql import"] = timed_with_peak([runql, "import", "jsonl", "--store", store, runs_path, history_path])
    database = duckdb.connect()
    start = time.perf_counter()
    database.execute(f"CREATE TABLE runs AS SELECT * FROM read_ndjson('{runs_path}')")
    database.execute(f"CREATE TABLE history AS SELECT * FROM read_ndjson('{history_path}')")
    imports["duckdb read_ndjson"] = (time.perf_counter() - start, None)
    return store, database, imports


def timed_with_peak(command):
    """Runs `command` (output discarded); its wall time in seconds and its own peak resident
    memory in KiB (from wait4: RUSAGE_CHILDREN would give the peak of every child so far)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return seconds, usage.ru_maxrss


def timed(command, **kwargs):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def settle(runql, store, query):
    """Brings the store's index cache up to date and past the 2 s window in which a just-changed
    run is read again (see docs/STORE.md, "The index cache"), then loads it once warm."""
    subprocess.run([runql, "--store", store, "-c", query], check=True, stdout=subprocess.DEVNULL)
    time.sleep(2.1)
    subprocess.run([runql, "--store", store, "-c", query], check=True, stdout=subprocess.DEVNULL)


def measure_cache(runql, store, repeat, refresh):
    """Whole-process `runql -c Q1` times: the cold build (cache deleted), warm starts, and (with
    `refresh`, on a scratch copy of the store) right after appending 1,000 history lines to one run."""
    query = SUITE["Q1 best finished runs"][0]
    index = os.path.join(store, "index")
    shutil.rmtree(index, ignore_errors=True)
    cold = timed_with_peak([runql, "--store", store, "-c", query])
    size = sum(os.path.getsize(os.path.join(index, name)) for name in os.listdir(index))
    settle(runql, store, query)
    warm = [timed([runql, "--store", store, "-c", query]) for _ in range(max(repeat, 10))]
    refreshed = []
    if refresh:
        scratch = tempfile.mkdtemp(prefix="runql-bench-")
        copy = os.path.join(scratch, "store")
        try:
            run(["cp", "-a", store, copy])
            settle(runql, copy, query)
            target = subprocess.run([runql, "--store", copy, "--format", "csv", "--no-header", "-c",
                                     "SELECT entity || '/' || project || '/' || id FROM runs ORDER BY id LIMIT 1"],
                                    check=True, capture_output=True, text=True).stdout.strip()
            for round_number in range(5):
                lines = "".join(json.dumps({"train/loss": 0.5 / (step + 1), "train/acc": 0.5}) + "\n" for step in range(1000))
                run([runql, "run", "log", "--store", copy, target, "-"], input=lines.encode(), stdout=subprocess.DEVNULL)
                refreshed.append(timed([runql, "--store", copy, "-c", query]))
                settle(runql, copy, query)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return cold, size, warm, refreshed


def measure_duckdb_cli(database, size, data_root, repeat):
    """Whole-process DuckDB CLI (`pip install duckdb-cli`) answering Q1's twin on a persisted
    database file holding the same tables: the yardstick for a warm `runql -c Q1`."""
    cli = os.path.join(os.path.dirname(sys.executable), "duckdb")
    if not os.path.exists(cli):
        return None
    path = os.path.join(data_root, size, "duckdb.db")
    if not os.path.exists(path):
        # duckdb-cli from pip may be older than the duckdb package: write a file it can read.
        database.execute(f"ATTACH '{path}' AS disk (STORAGE_VERSION 'v1.4.0')")
        database.execute("CREATE TABLE disk.runs AS SELECT * FROM runs")
        database.execute("CREATE TABLE disk.history AS SELECT * FROM history")
        database.execute("DETACH disk")
    query = SUITE["Q1 best finished runs"][1]
    timed([cli, path, "-c", query])
    return [timed([cli, path, "-c", query]) for _ in range(max(repeat, 10))]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="*", default=["small", "medium"], choices=list(SIZES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release"))
    parser.add_argument("--data", default=os.path.join(HERE, "data"))
    parser.add_argument("--refresh", action="store_true",
                        help="also time an incremental index refresh (on a scratch copy of the store)")
    arguments = parser.parse_args()
    runql = os.path.join(arguments.bin, "runql")
    server_path = os.path.join(arguments.bin, "runql-bench")
    report = []
    for size in arguments.sizes:
        store, database, imports = prepare(size, runql, arguments.data)
        cache = measure_cache(runql, store, arguments.repeat, arguments.refresh)
        duckdb_cli = measure_duckdb_cli(database, size, arguments.data, arguments.repeat)
        # The engine loads the index from the cache measure_cache left warm, as `runql` does.
        server = subprocess.Popen([server_path, "--store", store, "--cache"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = json.loads(server.stdout.readline())

        def ask(sql):
            server.stdin.write(json.dumps({"sql": sql}) + "\n")
            server.stdin.flush()
            answer = json.loads(server.stdout.readline())
            if "error" in answer:
                raise RuntimeError(f"runql: {answer['error']}\n{sql}")
            return answer

        timings = {name: ([], []) for name in SUITE}
        mismatches = []
        for repetition in range(arguments.repeat):
            for name, (ours, theirs) in SUITE.items():
                answer = ask(ours)
                start = time.perf_counter()
                rows = database.execute(theirs).fetchall()
                duck_seconds = time.perf_counter() - start
                timings[name][0].append(answer["seconds"])
                timings[name][1].append(duck_seconds)
                if repetition == 0:
                    mine = [[normalise(cell) for cell in row] for row in answer["digest"]]
                    other = [[normalise(cell) for cell in row] for row in rows[:50]]
                    if name.startswith("Q2"):
                        mine, other = sorted(mine), sorted(other)
                    if mine != other:
                        mismatches.append((name, mine[:3], other[:3]))
        memory = peak_rss_kb(server.pid)
        server.stdin.close()
        server.wait()
        report.append((size, hello, memory, imports, timings, mismatches, cache, duckdb_cli))

    for size, hello, memory, imports, timings, mismatches, cache, duckdb_cli in report:
        print(f"\n## {size}: {hello['runs']} runs, {hello['history_rows']} history rows")
        print(f"runql index load from the cache {hello['load_seconds']:.2f} s; after the suite the runql process peaked at {memory / 1024:.0f} MiB "
              f"(this Python process with DuckDB: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")
        for what, (seconds, peak) in imports.items():
            print(f"{what}: {seconds:.2f} s" + (f", peak RSS {peak / 1024:.0f} MiB" if peak else ""))
        cold, cache_size, warm, refreshed = cache
        print(f"index cache: cold `runql -c Q1` (build and write the cache) {cold[0]:.2f} s, peak RSS {cold[1] / 1024:.0f} MiB, "
              f"cache {cache_size / 2**20:.0f} MiB; "
              f"warm `runql -c Q1` median {statistics.median(warm) * 1e3:.1f} ms (min {min(warm) * 1e3:.1f})")
        if duckdb_cli:
            print(f"DuckDB CLI on a persisted database, whole process, Q1: median {statistics.median(duckdb_cli) * 1e3:.1f} ms "
                  f"(min {min(duckdb_cli) * 1e3:.1f}); ratio runql/DuckDB {statistics.median(warm) / statistics.median(duckdb_cli):.2f}")
        if refreshed:
            print(f"`runql -c Q1` right after appending 1,000 history lines to one run: median "
                  f"{statistics.median(refreshed) * 1e3:.1f} ms (min {min(refreshed) * 1e3:.1f})")
        print(f"\n| query | runql median (min–max) ms | DuckDB median (min–max) ms | ratio |")
        print("|---|---:|---:|---:|")
        for name, (ours, theirs) in timings.items():
            ratio = statistics.median(ours) / statistics.median(theirs)
            print(f"| {name} | {statistics.median(ours) * 1e3:.1f} ({min(ours) * 1e3:.1f}–{max(ours) * 1e3:.1f}) "
                  f"| {statistics.median(theirs) * 1e3:.1f} ({min(theirs) * 1e3:.1f}–{max(theirs) * 1e3:.1f}) | {ratio:.2f} |")
        for name, mine, other in mismatches:
            print(f"RESULTS DIFFER in {name}: runql {mine} vs DuckDB {other}")
        if not mismatches:
            print("\nBoth engines returned the same rows for every query.")


if __name__ == "__main__":
    main()
