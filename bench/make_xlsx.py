#!/usr/bin/env python3
"""Writes bench/data/rows_N.xlsx: the first N rows of the benchmark CSV as a spreadsheet (one
sheet, openpyxl in write-only mode), with typed cells as a spreadsheet holds them: integers,
numbers, dates, booleans. For issue 22's target: validate at >= 100k rows/s.

    python3 bench/make_xlsx.py --rows 200000
"""
import argparse
import csv
import datetime
import os

import openpyxl

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=200_000)
parser.add_argument("--csv", default=os.path.join(here, "data", "rows_2000000.csv"))
parser.add_argument("--shared-strings", action="store_true",
                    help="write strings to a shared string table, as Excel does (openpyxl's "
                         "normal mode; write-only mode writes them inline)")
args = parser.parse_args()

if args.shared_strings:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "rows"
else:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("rows")
with open(args.csv, newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    header = next(reader)
    sheet.append(header)
    kinds = {"id": int, "age": int, "balance": float, "active": lambda v: v == "true",
             "signup_date": datetime.date.fromisoformat}
    for n, row in enumerate(reader):
        if n == args.rows:
            break
        cells = []
        for name, value in zip(header, row):
            try:
                cells.append(kinds[name](value) if name in kinds else value)
            except ValueError:
                cells.append(value)  # the file's deliberately invalid cells stay text
        sheet.append(cells)
suffix = "_shared" if args.shared_strings else ""
out = os.path.join(here, "data", f"rows_{args.rows}{suffix}.xlsx")
book.save(out)
print(out)
