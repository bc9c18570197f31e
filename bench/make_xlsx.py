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
                    help="write strings to a shared string table, as Excel does (by XlsxWriter; "
                         "openpyxl writes them inline)")
args = parser.parse_args()


class SharedStringsSheet:
    """XlsxWriter behind openpyxl's `append`: strings go to the shared string table."""

    def __init__(self, path):
        import xlsxwriter
        self.book = xlsxwriter.Workbook(path)
        self.sheet = self.book.add_worksheet("rows")
        self.dates = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.row = 0

    def append(self, cells):
        for col, value in enumerate(cells):
            if isinstance(value, datetime.date):
                self.sheet.write_datetime(self.row, col, value, self.dates)
            elif isinstance(value, str):
                self.sheet.write_string(self.row, col, value)
            else:
                self.sheet.write(self.row, col, value)
        self.row += 1


suffix = "_shared" if args.shared_strings else ""
out = os.path.join(here, "data", f"rows_{args.rows}{suffix}.xlsx")
if args.shared_strings:
    sheet = SharedStringsSheet(out)
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
if args.shared_strings:
    sheet.book.close()
else:
    book.save(out)
print(out)
