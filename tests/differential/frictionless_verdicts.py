"""Runs frictionless-py on every case of a corpus and writes its verdicts as JSON.

For each case NAME: NAME.frictionless.json = {"header": [label error types],
"rows": {row_number: [[type, fieldNumber], ...]}} where row-level errors (primary-key,
blank-row) carry fieldNumber 0.

Usage: frictionless_verdicts.py CORPUS_DIR
"""

import glob
import json
import os
import subprocess
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


def cli_crosscheck(name, api_result):
    """The library API is used for speed; confirm that `frictionless validate --json`, the
    command users run, reports the very same errors on a case."""
    out = subprocess.run(["frictionless", "validate", "--json", "--limit-errors", "100000",
                          "--schema", name + ".schema.json", name + ".csv"],
                         capture_output=True, text=True, check=False).stdout
    rows = {}
    for error in json.loads(out)["tasks"][0]["errors"]:
        number = 0 if error["type"] in ROW_LEVEL else error.get("fieldNumber")
        rows.setdefault(str(error["rowNumber"]), []).append([error["type"], number])
    if rows != api_result["rows"]:
        sys.exit(f"frictionless CLI and API disagree on {name}")


def main(corpus):
    # frictionless refuses absolute data paths unless trusted; work relative to the corpus.
    os.chdir(corpus)
    for schema_path in sorted(glob.glob("*.schema.json")):
        name = schema_path[: -len(".schema.json")]
        try:
            result = verdicts(name + ".csv", schema_path)
        except Exception as error:  # a schema frictionless refuses is a verdict too
            result = {"schema_error": str(error)}
        if name in ("mixed", "primary_key", "ragged"):
            cli_crosscheck(name, result)
        with open(name + ".frictionless.json", "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
