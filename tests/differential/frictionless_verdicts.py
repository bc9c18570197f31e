"""Runs frictionless-py on every case of a corpus and writes its verdicts as JSON.

For each case NAME: NAME.frictionless.json = {"header": [label error types],
"rows": {row_number: [[type, fieldNumber], ...]}} where row-level errors (primary-key,
blank-row) carry fieldNumber 0.

Usage: frictionless_verdicts.py CORPUS_DIR
"""

import glob
import json
import os
import sys

from frictionless import Resource, Schema


ROW_LEVEL = {"primary-key", "blank-row", "foreign-key"}


def verdicts(csv_path, schema_path):
    schema = Schema.from_descriptor(schema_path)
    resource = Resource(csv_path, schema=schema, format="csv")
    report = resource.validate(limit_errors=100000)
    task = report.tasks[0]
    header, rows = [], {}
    for error in task.errors:
        if getattr(error, "row_number", None) is None:
            header.append(error.type)
            continue
        number = 0 if error.type in ROW_LEVEL else error.field_number
        rows.setdefault(str(error.row_number), []).append([error.type, number])
    return {"header": header, "rows": rows, "rows_checked": task.stats.get("rows")}


def main(corpus):
    # frictionless refuses absolute data paths unless trusted; work relative to the corpus.
    os.chdir(corpus)
    for schema_path in sorted(glob.glob("*.schema.json")):
        name = schema_path[: -len(".schema.json")]
        try:
            result = verdicts(name + ".csv", schema_path)
        except Exception as error:  # a schema frictionless refuses is a verdict too
            result = {"schema_error": str(error)}
        with open(name + ".frictionless.json", "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
