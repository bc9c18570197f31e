#!/usr/bin/env python3
"""The script a user would write instead of pulse: the baseline of the benchmark.

Reads the CSV with the csv module, builds JSON batches of 5,000 rows (the same payload shape as
pulse: event id, templateId, index, event_name, rows with __index/__row/__valid/__errors),
signs each body the Standard Webhooks way (HMAC-SHA256 over `id.timestamp.body`), stores each
body in a SQLite log before sending it, POSTs batches in order over one keep-alive
`requests.Session`, and records the answer. Python 3.11 standard library + requests.

    python3 bench/baseline.py FILE --url URL --secret whsec_... --db log.db [--batch-size 5000]

Prints a JSON summary on stdout ({"rows", "batches", "json_bytes", "seconds"}).
"""

import argparse
import base64
import csv
import hashlib
import hmac
import json
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import requests


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--url", required=True)
    ap.add_argument("--secret", required=True, help="whsec_... signing secret")
    ap.add_argument("--db", required=True, help="SQLite log to store every body in")
    ap.add_argument("--batch-size", type=int, default=5000)
    args = ap.parse_args()

    key = base64.b64decode(args.secret.removeprefix("whsec_"))
    db = sqlite3.connect(args.db)
    # The same durability settings as pulse's log (WAL, synchronous=NORMAL), so that the
    # comparison measures the work and not a difference in fsync policy.
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    # Bodies are written once; delivery results go to their own small table (updating a row that
    # holds a 1.5 MB body would rewrite the body: a careful user avoids that, and so does pulse).
    db.execute(
        "CREATE TABLE IF NOT EXISTS batches (webhook_id TEXT PRIMARY KEY, event_id TEXT, "
        "batch_index INTEGER, rows INTEGER, body BLOB)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS attempts (webhook_id TEXT, status INTEGER, sent_at REAL)"
    )
    session = requests.Session()
    event_id = f"evt_{uuid.uuid4().hex}"
    template = Path(args.file).stem
    started = time.perf_counter()
    totals = {"rows": 0, "batches": 0, "json_bytes": 0}

    def send(rows: list) -> None:
        totals["batches"] += 1
        payload = {
            "id": event_id,
            "templateId": template,
            "index": totals["batches"],
            "event_name": "all",
            "data": rows,
            "user": None,
            "metadata": {},
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        db.execute(
            "INSERT INTO batches (webhook_id, event_id, batch_index, rows, body) VALUES (?,?,?,?,?)",
            (msg_id, event_id, totals["batches"], len(rows), body),
        )
        db.commit()
        timestamp = str(int(time.time()))
        resp = session.post(
            args.url,
            data=body,
            headers={
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": sign(key, msg_id, timestamp, body),
            },
            timeout=30,
        )
        db.execute(
            "INSERT INTO attempts (webhook_id, status, sent_at) VALUES (?,?,?)",
            (msg_id, resp.status_code, time.time()),
        )
        db.commit()
        resp.raise_for_status()
        totals["json_bytes"] += len(body)

    with open(args.file, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        batch = []
        last_line = reader.line_num  # physical line where the previous record ended
        for index, record in enumerate(reader, start=1):
            row = dict(zip(header, record))
            row["__index"] = index
            row["__row"] = last_line + 1  # the line the record starts on (header is line 1)
            last_line = reader.line_num
            row["__valid"] = True
            row["__errors"] = []
            batch.append(row)
            if len(batch) == args.batch_size:
                send(batch)
                batch = []
            totals["rows"] = index
        if batch:
            send(batch)
    db.close()
    totals["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
