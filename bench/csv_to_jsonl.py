#!/usr/bin/env python3
"""The benchmark's CSV as JSON lines: one object per row, the same 10 fields, typed as a JSON
export would hold them (id and age integers, balance a number, active a boolean; a cell that is
not one of those, one of the few invalid rows, stays a string).

Usage: python3 bench/csv_to_jsonl.py bench/data/rows_2000000.csv bench/data/rows_2000000.jsonl
"""

import csv
import json
import re
import sys

NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def value(name: str, text: str) -> str:
    if name in ("id", "age") and re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
        return text
    if name == "balance" and NUMBER.fullmatch(text):
        return text
    if name == "active" and text in ("true", "false"):
        return text
    return json.dumps(text, ensure_ascii=False)


def main() -> int:
    source, target = sys.argv[1:3]
    with open(source, newline="", encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
        rows = csv.reader(f)
        header = next(rows)
        keys = [json.dumps(name) + ":" for name in header]
        for row in rows:
            out.write("{" + ",".join(k + value(n, c) for k, n, c in zip(keys, header, row)) + "}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
