#!/usr/bin/env python3
"""How fast `pulse log` answers over a log of many runs, on SQLite and on PostgreSQL.

    bench/log_runs.py --pulse target/release/pulse --runs 10000 [--postgres ADMIN_URL]

Builds a log of RUNS runs (one event of 4 batches each, every batch delivered at its first
attempt, as pushes leave them) by SQL, in a fresh SQLite file and, with --postgres, a fresh
database on that server (psql makes and drops it); then times `pulse log` (the newest 20),
`pulse log --limit 0` (all of them) and `pulse log --failed` (nothing undelivered), the median
of --repeat runs of each. The schema is pulse's own: `pulse log` creates it on first open.
"""
import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

BATCHES = 4


def rows(runs):
    """The log's rows, as (table, columns, values) per row."""
    t0 = 1_700_000_000_000
    for r in range(runs):
        run = f"run_{r:026d}"
        event = f"evt_{r:026d}"
        started = t0 + r * 60_000
        yield ("runs", "id, started_at, finished_at, source, source_size, source_hash, url, options, "
               "status, rows_total, rows_valid, rows_invalid, blank_rows",
               (run, started, started + 900, "/data/export.csv", 123456, "ab" * 16,
                "https://api.example.com/hooks/import", '{"format":"pulse","shape":"x"}',
                "delivered", 4000, 4000, 0, 0))
        yield ("events", "id, run_id, seq, name, total_rows, batch_count",
               (event, run, 0, "all", 4000, BATCHES))
        for b in range(BATCHES):
            batch = f"msg_{r:022d}{b:04d}"
            yield ("batches", "id, event_id, idx, rows, first_row, status, delivered_at",
                   (batch, event, b + 1, 1000, b * 1000 + 1, "delivered", started + 200 * b))
            yield ("attempts", "batch_id, started_at, duration_ms, url, http_status, error, "
                   "response, request_headers",
                   (batch, started + 200 * b, 12, "https://api.example.com/hooks/import", 200,
                    None, '{"ok":true}', '{"content-type":"application/json"}'))


def sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def fill_sqlite(path, runs):
    con = sqlite3.connect(path)
    with con:
        for table, cols, values in rows(runs):
            marks = ", ".join("?" * len(values))
            con.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
    con.close()


def fill_postgres(url, runs):
    script = ["BEGIN;"]
    for table, cols, values in rows(runs):
        script.append(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(map(sql_literal, values))});")
    script.append("COMMIT; ANALYZE;")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input="\n".join(script),
                   text=True, check=True, stdout=subprocess.DEVNULL)


def timed(pulse, db, args, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([pulse, "log", "--db", db, *args], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pulse", required=True)
    p.add_argument("--runs", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=11)
    p.add_argument("--postgres", help="admin URL of a server to make a scratch database on")
    a = p.parse_args()
    logs = []
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(tmp.name, "log.db")
    subprocess.run([a.pulse, "log", "--db", path], check=True, capture_output=True)
    fill_sqlite(path, a.runs)
    logs.append(("sqlite", path))
    name = None
    if a.postgres:
        name = f"pulse_bench_log_{os.getpid()}"
        subprocess.run(["psql", "-q", a.postgres, "-c", f"CREATE DATABASE {name}"], check=True)
        url = a.postgres.rsplit("/", 1)[0] + "/" + name
        subprocess.run([a.pulse, "log", "--db", url], check=True, capture_output=True)
        fill_postgres(url, a.runs)
        logs.append(("postgres", url))
    try:
        print(f"pulse log over {a.runs} runs ({a.runs * BATCHES} batches, as many attempts); "
              f"median of {a.repeat} runs, whole process, ms")
        print(f"{'log':10} {'pulse log':>10} {'--limit 0':>10} {'--failed':>10}")
        for label, db in logs:
            cells = [timed(a.pulse, db, args, a.repeat)
                     for args in ([], ["--limit", "0"], ["--failed"])]
            print(f"{label:10} " + " ".join(f"{c:10.1f}" for c in cells))
    finally:
        if name:
            subprocess.run(["psql", "-q", a.postgres, "-c", f"DROP DATABASE {name} WITH (FORCE)"],
                           check=False)


if __name__ == "__main__":
    sys.exit(main())
