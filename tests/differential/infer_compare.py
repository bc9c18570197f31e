"""Compares `pulse schema infer` with frictionless-py's `describe` on every CSV of a corpus:
the inferred type of each field must be the same. Prints the agreement and each difference
with its reason; exits 1 on a difference that is not one of the deliberate ones listed in
README.md ("Schema inference").

Usage: infer_compare.py CORPUS_DIR   (PULSE: the pulse binary, default target/debug/pulse)
"""

import glob
import json
import os
import subprocess
import sys

import csv
import random

import frictionless

# Types frictionless infers that Table Schemas pulse loads do not have: pulse infers the next
# candidate that reads the column instead (README.md).
UNSUPPORTED = {"yearmonth", "geopoint", "duration", "geojson"}


def write_inference_cases(out):
    """Cases aimed at the inference rules themselves: the 90% bar around its edge, missing
    values, short rows, types met after the sample, and the types pulse lacks."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(22)
    pools = {
        "int": ["1", "-7", "007", "12", "0", "1"],
        "num": ["1.5", "-2.25", "1e3", "0.1", "NaN", "3"],
        "bool": ["true", "false", "TRUE", "False"],
        "date": ["2024-01-31", "1999-12-31", "2000-02-29"],
        "datetime": ["2024-01-31T10:20:30", "2024-01-31T10:20:30Z", "2024-01-31 10:20:30"],
        "time": ["10:20:30", "23:59:59", "00:00:00"],
        "year": ["2024", "1999", "0001"],
        "text": ["abc", "x y", "é", "1,5", "--"],
        "yearmonth": ["2024-01", "1999-12"],
        "geopoint": ["90,45", "-1.5,2.5"],
        "array": ["[1, 2]", "[]"],
        "object": ['{"a": 1}', "{}"],
        "duration": ["P1Y2M", "PT36H"],
    }
    names = list(pools)

    def write(name, header, rows):
        with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    # One column per pool, with 0..15 of 100 rows from another pool or missing.
    for bad in [0, 5, 9, 10, 11, 15]:
        for missing in [0, 10, 60]:
            rows = []
            for r in range(120):
                row = []
                for n in names:
                    roll = rng.randrange(100)
                    if roll < missing // 2 and r % 3 == 0:
                        row.append("")
                    elif roll < bad:
                        row.append(rng.choice(pools[rng.choice(names)]))
                    else:
                        row.append(rng.choice(pools[n]))
                rows.append(row)
            write(f"infer_bad{bad}_missing{missing}", names, rows)
    # Integers for 99 rows, then text: outside frictionless' sample.
    write("infer_after_sample", ["a"], [["1"]] * 99 + [["x"]] * 50)
    # Short rows, all missing, one row.
    write("infer_short_rows", ["a", "b", "c"], [["1", "2", "3"], ["4"], ["5", "6"]] * 5)
    write("infer_all_missing", ["a", "b"], [["", "1"]] * 10)
    write("infer_one_row", ["a", "b", "c"], [["1", "x", "2024-01-01"]])


def theirs(path):
    resource = frictionless.describe(path)
    return [(f["name"], f["type"]) for f in resource.to_descriptor()["schema"]["fields"]]


def ours(pulse, path):
    run = subprocess.run([pulse, "schema", "infer", path, "--delimiter", ","],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return run.stderr.strip()
    return [(f["name"], f["type"]) for f in json.loads(run.stdout)["fields"]]


def main(corpus):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pulse = os.environ.get("PULSE", os.path.join(root, "target", "debug", "pulse"))
    files = fields = agreed = 0
    refused, deliberate, unexpected = [], [], []
    inference_cases = os.path.join(corpus, "infer")
    write_inference_cases(inference_cases)
    paths = sorted(glob.glob(os.path.join(corpus, "*.csv")))
    paths += sorted(glob.glob(os.path.join(inference_cases, "*.csv")))
    for path in paths:
        name = os.path.basename(path)
        files += 1
        mine = ours(pulse, path)
        other = theirs(path)
        if isinstance(mine, str):
            refused.append(f"{name}: {mine}")
            continue
        if [n for n, _ in mine] != [n for n, _ in other]:
            unexpected.append(f"{name}: field names differ: {mine} vs {other}")
            continue
        for (field, t_ours), (_, t_theirs) in zip(mine, other):
            fields += 1
            if t_ours == t_theirs:
                agreed += 1
            elif t_theirs in UNSUPPORTED:
                deliberate.append(f"{name}: {field}: frictionless {t_theirs}, pulse {t_ours}")
            elif name.startswith("known_unicode_digits"):
                # Non-ASCII digits are no integers to pulse (README.md).
                deliberate.append(f"{name}: {field}: frictionless {t_theirs}, pulse {t_ours}")
            else:
                unexpected.append(f"{name}: {field}: frictionless {t_theirs}, pulse {t_ours}")
    print(f"schema infer: {files} files, {fields} fields compared, {agreed} agree, "
          f"{len(deliberate)} deliberate differences, {len(unexpected)} unexpected, "
          f"{len(refused)} files pulse refuses to read")
    for line in deliberate:
        print("  deliberate:", line)
    for line in refused:
        print("  refused:", line)
    for line in unexpected:
        print("  DIFFERENT:", line)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
