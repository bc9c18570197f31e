"""Writes the differential corpus: pairs of CSV + Table Schema covering every supported type,
format and constraint, with tricky cells chosen around frictionless-py's casting rules.

Usage: gen_corpus.py OUT_DIR   (deterministic: the same corpus every run)
"""

import csv
import json
import os
import random
import sys

INTEGERS = ["1", "-7", "+5", " 12 ", "007", "1_000", "1__0", "_1", "1_", "12.5", "1e3", "0x10",
            "abc", "$12", "95%", "-", "--5", "9999999999999999999999", "-0", "1 2", "EUR 1,000"]
NUMBERS = ["1", "1.5", "-2.25", ".5", "5.", "1e3", "1E-2", "+.5e-3", "NaN", "nan", "-inf", "Infinity",
           "INF", "1_000.5", "1,000.5", "1.000,5", "abc", "1.2.3", "", " 3.14 ", "$1,234.50",
           "12%", "1e", "e5", "0.1", "100", "sNaN", "-0.0", "1,5"]
BOOLEANS = ["true", "True", "TRUE", "1", "false", "False", "FALSE", "0", "yes", "no", "t", "f",
            " true", "tRuE", "Y", "N", "2", ""]
DATES = ["2024-01-31", "2024-1-5", "2024-01- 5", "2024-02-29", "2023-02-29", "2024-13-01",
         "2024-00-10", "0000-01-01", "9999-12-31", "24-01-31", "2024/01/31", "2024-01-31T00:00:00",
         " 2024-01-31", "2024-01-31 ", "20240131", "2024-1-31x", "2024-12-32", "2024-11-31"]
DATETIMES = ["2024-01-31T10:20:30", "2024-01-31T10:20:30Z", "2024-01-31 10:20:30",
             "2024-01-31x10:20:30", "2024-01-31T10:20:30.123", "2024-01-31T10:20:30,5",
             "2024-01-31T10:20:30+01:00", "2024-01-31T10:20:30+0100", "2024-01-31T10:20:30+01",
             "2024-01-31T10:20:30-00:00", "2024-01-31T24:00:00", "2024-01-31T24:00:01",
             "2024-01-31T10:20", "2024-01-31T25:00:00", "2024-02-30T10:00:00", "2024-W05-3T10:20:30",
             "2024-01-31T10:20:60", "2024-01-31T10:20:30.1234567", "2024-01-31T10:20:30+24:00",
             "2024-01-31T10:20:30 ", "abc", "2024-01-31T10:20:30Zx", "2024-01-31T1:20:30:00"]
TIMES = ["10:20:30", "10:20:30Z", "10:20:30.5", "10:20:30+02:00", "24:00:00", "23:59:59", "10:20",
         "1:20:30", "10:20:60", "10:2:30", "25:00:00", "10:20:30 ", "10:20:30,25", "x", "10:20:30-0130",
         "10:20:30.", "00:00:00z"]
YEARS = ["2024", "0000", "9999", "24", "02024", " 202", "+202", "-202", "2_02", "abcd", "1e03", "10000"]
EMAILS = ["a@example.com", "first.last+tag@sub.example.org", "a@b", "a@@b.com", "a b@x.io",
          "\"q.d\"@x.io", "é@x.io", "a@x..io", "a@1.2.3.4", ".a@x.io", "A@EXAMPLE.COM", "a@x_y.com",
          "a@-x.com", "a@x.c0m", "a@x.co1"]
URIS = ["https://example.com", "mailto:a@b.c", "urn:isbn:0451450523", "example.com", "//x/y",
        "1http://x", "ht tp://x", "x+y.z-w:", "HTTP://X", "a:", ":a"]
UUIDS = ["2bc1c94f-0deb-43e9-92a1-4775189ec9f8", "2BC1C94F0DEB43E992A14775189EC9F8",
         "{2bc1c94f-0deb-43e9-92a1-4775189ec9f8}", "urn:uuid:2bc1c94f-0deb-43e9-92a1-4775189ec9f8",
         "2bc1c94f-0deb-43e9-92a1", "2bc1c94g-0deb-43e9-92a1-4775189ec9f8", "x",
         "2bc1-c94f0deb43e992a14775189ec9f8"]

# exclusiveMinimum/exclusiveMaximum and fieldsMatch are Table Schema v2 features.
V2 = "https://datapackage.org/profiles/2.0/tableschema.json"


def case(out, name, fields, rows, **schema_extra):
    header = [f["name"] for f in fields]
    schema = {"$schema": V2, "fields": fields, **schema_extra}
    with open(os.path.join(out, name + ".schema.json"), "w") as f:
        json.dump(schema, f, indent=1)
    with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)


def single(out, name, field, values):
    # An id column keeps every row non-blank, so only the tested cell decides validity.
    case(out, name, [{"name": "id", "type": "integer"}, {"name": "v", **field}],
         [[str(i), v] for i, v in enumerate(values)])


def main(out):
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(3)
    single(out, "integer", {"type": "integer"}, INTEGERS)
    single(out, "integer_barenumber", {"type": "integer", "bareNumber": False}, INTEGERS)
    single(out, "number", {"type": "number"}, NUMBERS)
    single(out, "number_style", {"type": "number", "groupChar": ",", "decimalChar": "."}, NUMBERS)
    single(out, "number_euro", {"type": "number", "groupChar": ".", "decimalChar": ","}, NUMBERS)
    single(out, "number_bare", {"type": "number", "bareNumber": False}, NUMBERS)
    single(out, "boolean", {"type": "boolean"}, BOOLEANS)
    single(out, "boolean_custom", {"type": "boolean", "trueValues": ["yes", "Y"], "falseValues": ["no", "N"]}, BOOLEANS)
    single(out, "date", {"type": "date"}, DATES)
    single(out, "date_format", {"type": "date", "format": "%d/%m/%Y"},
           ["31/01/2024", "1/2/2024", "31/02/2024", "2024-01-31", "31/01/24", " 1/01/2024", "31/1/2024x"])
    single(out, "date_format_names", {"type": "date", "format": "%d %b %Y"},
           ["31 Jan 2024", "31 jan 2024", "31 January 2024", "31  Jan 2024", "31 Foo 2024"])
    single(out, "datetime", {"type": "datetime"}, DATETIMES)
    single(out, "datetime_format", {"type": "datetime", "format": "%Y-%m-%d %H:%M:%S%z"},
           ["2024-01-31 10:20:30+0100", "2024-01-31 10:20:30Z", "2024-01-31 10:20:30+01:00",
            "2024-01-31 10:20:30", "2024-01-31 10:20:30z", "2024-01-31  10:20:30+0000"])
    single(out, "datetime_12h", {"type": "datetime", "format": "%m/%d/%y %I:%M %p"},
           ["01/31/24 10:20 PM", "01/31/24 12:00 am", "01/31/69 1:05 pm", "13/31/24 10:20 PM", "01/31/24 13:00 PM"])
    single(out, "time", {"type": "time"}, TIMES)
    single(out, "time_format", {"type": "time", "format": "%H%M"}, ["1020", "2400", "0960", "120", "12345"])
    single(out, "year", {"type": "year"}, YEARS)
    single(out, "string_email", {"type": "string", "format": "email"}, EMAILS)
    single(out, "string_uri", {"type": "string", "format": "uri"}, URIS)
    single(out, "string_uuid", {"type": "string", "format": "uuid"}, UUIDS)
    single(out, "any", {"type": "any"}, ["x", "", "1", "NA"])
    # Constraints
    single(out, "c_required", {"type": "string", "constraints": {"required": True}}, ["a", "", " ", "b"])
    single(out, "c_length", {"type": "string", "constraints": {"minLength": 2, "maxLength": 4}},
           ["a", "ab", "abcd", "abcde", "éé", "", "日本語"])
    single(out, "c_pattern", {"type": "string", "constraints": {"pattern": "[A-Z]{2}-\\d+"}},
           ["AB-1", "AB-12x", "xAB-1", "ab-1", "AB-", ""])
    single(out, "c_pattern_alt", {"type": "string", "constraints": {"pattern": "a|b"}},
           ["a", "b", "ab", "ba", "abc", "cb"])
    single(out, "c_enum_string", {"type": "string", "constraints": {"enum": ["red", "green"]}},
           ["red", "Red", "green", "blue", ""])
    single(out, "c_int_bounds", {"type": "integer", "constraints": {"minimum": 0, "maximum": 120}},
           ["0", "120", "-1", "121", "50", "abc", ""])
    single(out, "c_int_exclusive", {"type": "integer", "constraints": {"exclusiveMinimum": 0, "exclusiveMaximum": 10}},
           ["0", "1", "9", "10"])
    single(out, "c_num_bounds", {"type": "number", "constraints": {"minimum": 1.5, "maximum": "2.5"}},
           ["1.5", "1.49", "2.5", "2.51", "NaN", "inf", "-inf", "2"])
    single(out, "c_num_enum", {"type": "number", "constraints": {"enum": [1, 2.5]}},
           ["1", "1.0", "2.50", "3", "1e0", "NaN"])
    single(out, "c_int_enum", {"type": "integer", "constraints": {"enum": [1, 2]}}, ["1", "01", "+2", "3"])
    single(out, "c_date_bounds", {"type": "date", "constraints": {"minimum": "2024-01-01", "maximum": "2024-12-31"}},
           ["2024-01-01", "2023-12-31", "2024-12-31", "2025-01-01"])
    single(out, "c_datetime_bounds", {"type": "datetime", "constraints": {"minimum": "2024-01-01T00:00:00"}},
           ["2024-01-01T00:00:00", "2023-12-31T23:59:59", "2024-06-01T00:00:00"])
    single(out, "c_time_bounds", {"type": "time", "constraints": {"maximum": "12:00:00"}},
           ["11:59:59", "12:00:00", "12:00:01"])
    single(out, "c_year_bounds", {"type": "year", "constraints": {"minimum": 2000, "exclusiveMaximum": 2030}},
           ["2000", "1999", "2029", "2030"])
    single(out, "c_bool_enum", {"type": "boolean", "constraints": {"enum": [True]}}, ["true", "false", "1", "0"])
    single(out, "c_unique_string", {"type": "string", "constraints": {"unique": True}},
           ["a", "b", "a", "", "", "A", "b"])
    single(out, "c_unique_number", {"type": "number", "constraints": {"unique": True}},
           ["1", "1.0", "1e0", "2", "NaN", "NaN", "x", "x", "-0", "0"])
    single(out, "c_unique_date", {"type": "datetime", "constraints": {"unique": True}},
           ["2024-01-01T10:00:00Z", "2024-01-01T11:00:00+01:00", "2024-01-01T10:00:00", "2024-01-01T10:00:00"])
    single(out, "c_required_int", {"type": "integer", "constraints": {"required": True, "minimum": 5}}, ["", "3", "x", "7"])
    # Missing values
    case(out, "missing_values", [{"name": "id", "type": "integer"}, {"name": "n", "type": "number"},
                                  {"name": "s", "type": "string", "constraints": {"required": True}}],
         [["1", "NA", "x"], ["2", "-", "NA"], ["3", "", ""], ["4", "n/a", "y"], ["5", "1", "-"]],
         missingValues=["NA", "-", ""])
    case(out, "missing_field_level", [{"name": "id", "type": "integer", "missingValues": ["?"]},
                                       {"name": "n", "type": "number"}],
         [["?", "1"], ["", "2"], ["3", "?"], ["4", ""]])
    # Keys
    case(out, "primary_key", [{"name": "id", "type": "integer"}, {"name": "name", "type": "string"}],
         [["1", "a"], ["2", "b"], ["1", "c"], ["", "d"], ["01", "e"], ["x", "f"], ["", "g"]], primaryKey="id")
    case(out, "primary_key_composite", [{"name": "a", "type": "string"}, {"name": "b", "type": "integer"},
                                         {"name": "c", "type": "string"}],
         [["x", "1", "q"], ["x", "2", "q"], ["x", "1", "r"], ["", "", "s"], ["", "", "t"], ["y", "", "u"], ["y", "", "v"]],
         primaryKey=["a", "b"])
    # Ragged rows
    ragged = os.path.join(out, "ragged")
    with open(ragged + ".schema.json", "w") as f:
        json.dump({"$schema": V2, "fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string", "constraints": {"required": True}},
                              {"name": "c", "type": "string"}]}, f)
    with open(ragged + ".csv", "w") as f:
        f.write("a,b,c\n1,x,y\n2,x\n3\n4,x,y,z\n5,x,y,z,w\nq,,y,z\n,,\n,,,\n6,x,\n")
    # Known, deliberate differences (README.md): reported by compare.py, not counted as failures.
    single(out, "known_unicode_digits", {"type": "integer"}, ["٣", "１２", "12"])
    case(out, "known_unique_keys", [{"name": "a", "type": "string"}, {"name": "b", "type": "integer"}],
         [["x", "1"], ["x", "2"], ["x", "1"], ["", "1"], ["", "1"]], uniqueKeys=[["a", "b"]])
    # fieldsMatch: header verdicts (pulse refuses a header frictionless reports label errors for).
    for mode in ["exact", "equal", "subset", "superset", "partial"]:
        for label, header in [("same", ["id", "name"]), ("reordered", ["name", "id"]), ("extra", ["id", "name", "x"]),
                              ("fewer", ["id"]), ("none", ["p", "q"])]:
            path = os.path.join(out, f"match_{mode}_{label}")
            with open(path + ".schema.json", "w") as f:
                json.dump({"$schema": V2, "fieldsMatch": mode, "fields": [
                    {"name": "id", "type": "integer", "constraints": {"required": True}},
                    {"name": "name", "type": "string"}]}, f)
            with open(path + ".csv", "w") as f:
                cells = {"id": "1", "name": "a", "x": "z", "p": "1", "q": "2"}
                f.write(",".join(header) + "\n" + ",".join(cells[h] for h in header) + "\n")
                f.write(",".join("bad" if h == "id" else cells[h] for h in header) + "\n")
    # Random cells over each type's alphabet, to reach corners no list above thought of.
    alphabets = {
        "integer": "0123456789-+_ .e", "number": "0123456789-+_.,eE nNaiIfty", "year": "0123456789-+ _",
        "date": "0123456789-/ T:", "datetime": "0123456789-T :.,+Zz W", "time": "0123456789:.,+-Z ",
        "boolean": "truefalsTRUEFALS01 ",
    }
    for type_name, alphabet in alphabets.items():
        values = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 26 if "date" in type_name else 8)))
                  for _ in range(1500)]
        if type_name in ("datetime", "time", "date"):
            # Mostly well-formed values with one character changed: near misses matter most.
            base = {"datetime": "2024-02-29T23:59:59.123+01:00", "time": "23:59:59.5Z", "date": "2024-02-29"}[type_name]
            for _ in range(1500):
                chars = list(base[: rnd.randint(5, len(base))])
                chars[rnd.randrange(len(chars))] = rnd.choice(alphabet)
                values.append("".join(chars))
        single(out, "fuzz_" + type_name, {"type": type_name}, values)

    # Random mixed rows over several types, to catch interactions.
    fields = [{"name": "id", "type": "integer", "constraints": {"unique": True}},
              {"name": "n", "type": "number", "constraints": {"minimum": 0}},
              {"name": "d", "type": "date"}, {"name": "b", "type": "boolean"},
              {"name": "e", "type": "string", "format": "email", "constraints": {"required": True}},
              {"name": "y", "type": "year"}, {"name": "t", "type": "time"}]
    # sNaN is left out: frictionless crashes comparing it with a minimum (decimal.InvalidOperation).
    numbers = [n for n in NUMBERS if n != "sNaN"]
    pools = [INTEGERS[:8] + [str(i) for i in range(40)], numbers, DATES, BOOLEANS, EMAILS + [""], YEARS, TIMES]
    valid = [[str(i) for i in range(40)], ["1", "2.5", "0", "1e3"], ["2024-01-31", "2024-02-29"], ["true", "0"],
             ["a@example.com"], ["2024", "1999"], ["10:20:30", "23:59:59Z"]]
    # Mostly valid cells so that rows are valid often enough to compare both verdicts.
    rows = [[rnd.choice(good if rnd.random() < 0.9 else pool) for good, pool in zip(valid, pools)]
            for _ in range(1000)]
    for k, row in enumerate(rows):
        if rnd.random() < 0.95:
            row[0] = str(k)  # mostly unique ids; the rest exercise unique-error
    case(out, "mixed", fields, rows)


if __name__ == "__main__":
    main(sys.argv[1])
