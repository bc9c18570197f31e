"""Compares pulse's and frictionless' verdicts on a corpus; exits 1 on any difference.

A row matches when both list the same multiset of (error type, field number). Header-level
outcomes match when both refuse the header (pulse) / report label errors (frictionless).
Deliberate differences are listed in README.md and filtered out here by case name.

Usage: compare.py CORPUS_DIR
"""

import glob
import json
import os
import sys
from collections import Counter


def main(corpus):
    cases = rows_compared = cells_compared = 0
    mismatches = []
    for path in sorted(glob.glob(os.path.join(corpus, "*.frictionless.json"))):
        name = os.path.basename(path)[: -len(".frictionless.json")]
        theirs = json.load(open(path))
        ours = json.load(open(os.path.join(corpus, name + ".pulse.json")))
        cases += 1
        if "schema_error" in theirs or "schema_error" in ours:
            if ("schema_error" in theirs) != ("schema_error" in ours):
                mismatches.append(f"{name}: schema refused by {'frictionless' if 'schema_error' in theirs else 'pulse'}: "
                                  f"{theirs.get('schema_error') or ours.get('schema_error')}")
            continue
        if theirs.get("header") or "header_error" in ours:
            if not (theirs.get("header") and "header_error" in ours):
                mismatches.append(f"{name}: header verdicts differ: frictionless {theirs.get('header')}, "
                                  f"pulse {ours.get('header_error')}")
            continue
        if theirs["rows_checked"] != ours["rows_checked"]:
            mismatches.append(f"{name}: rows checked: frictionless {theirs['rows_checked']}, pulse {ours['rows_checked']}")
        rows_compared += theirs["rows_checked"] or 0
        lines = sorted(set(theirs["rows"]) | set(ours["rows"]), key=int)
        for line in lines:
            t = Counter(map(tuple, theirs["rows"].get(line, [])))
            o = Counter(map(tuple, ours["rows"].get(line, [])))
            if t != o:
                mismatches.append(f"{name}: row {line}: frictionless {sorted(t.elements())}, pulse {sorted(o.elements())}")
    known = [m for m in mismatches if m.startswith("known_")]
    failures = [m for m in mismatches if not m.startswith("known_")]
    for m in known:
        print("KNOWN   ", m)
    for m in failures:
        print("MISMATCH", m)
    print(f"differential: {cases} cases, {rows_compared} rows compared, "
          f"{len(failures)} mismatches, {len(known)} known differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
