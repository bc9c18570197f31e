#!/usr/bin/env python3
"""Seeded generator of a realistic customer CSV for the pulse benchmark.

Columns (matching bench/schema.json):
  id, first_name, last_name, email, age, signup_date, country, balance, active, note

- id: 1..N, unique
- names: mostly ASCII, ~15% with non-ASCII letters (José, Müller, Nguyễn, Øyvind, ...)
- email: derived from the name, ASCII
- age: 18..90; signup_date: ISO 2015-01-01..2024-12-31; country: ISO 3166 alpha-2
- balance: decimal with two places; active: true/false
- note: free text; about 30% of the cells hold a comma, a double quote or a newline

A small fraction of rows (--invalid-rate, default 0.1%) break a schema rule (age out of range,
bad email, unknown country, bad date) so that validation has real errors to report.

The same --seed and --rows always give byte-identical output.

Usage:
  python3 bench/gen_csv.py --rows 2000000 --out bench/data/rows_2000000.csv
  python3 bench/gen_csv.py --rows 20000000 | pulse push - ...   (stream to stdout)
"""

import argparse
import csv
import io
import random
import sys
import unicodedata
from datetime import date, timedelta

FIRST = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Emma", "Olivia", "Noah", "Liam", "Sophia", "Lucas", "Mia",
    "Hannah", "Lukas", "Anna", "Paul", "Marie", "Pierre", "Julia", "Max", "Lena", "Ahmed",
    "Fatima", "Wei", "Yuki", "Priya", "Raj", "Carlos", "Ana", "Luis", "Sofia", "Ivan", "Olga",
    "Christy", "Kwame", "Amara", "Ingrid", "Lars", "Anders", "Maja", "Tomasz", "Katarzyna",
]
FIRST_NON_ASCII = [
    "José", "Zoë", "Chloé", "François", "Søren", "Øyvind", "Björn", "Łukasz", "Małgorzata",
    "Jürgen", "Agnès", "Hélène", "Renée", "Íñigo", "Ñusta", "Ștefan", "Dvořák", "Éloïse",
    "Şebnem", "Ülkü", "Ólafur", "Þór", "Ελένη", "Дмитрий", "Анна", "美咲", "翔太", "Nguyễn",
]
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Dubois", "Lefebvre",
    "Rossi", "Russo", "Kowalski", "Nowak", "Novak", "Horvat", "Jensen", "Hansen", "Nielsen",
    "Tanaka", "Suzuki", "Wang", "Li", "Zhang", "Chen", "Kumar", "Singh", "Patel", "Okafor",
]
LAST_NON_ASCII = [
    "Müller", "Größe", "Søndergaard", "Ødegård", "Åström", "Jäger", "Çelik", "Yılmaz", "Öztürk",
    "Wiśniewski", "Wójcik", "Dvořáková", "Núñez", "Peña", "Muñoz", "Gómez", "Fernández",
    "Đorđević", "Ólafsdóttir", "Þorsteinsson", "Nguyễn", "Trần", "Παπαδόπουλος", "Иванов",
    "Смирнова", "山田", "佐藤", "Lefèvre", "Bélanger",
]
DOMAINS = [
    "example.com", "example.org", "mail.example.net", "gmail.com", "yahoo.com", "outlook.com",
    "proton.me", "web.de", "orange.fr", "acme.io", "corp.example.co.uk",
]
COUNTRIES = [
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "SE", "NO", "DK", "FI", "PL", "CZ", "AT",
    "CH", "IE", "PT", "GR", "TR", "JP", "CN", "IN", "BR", "MX", "CA", "AU", "NZ", "ZA", "NG",
    "KE", "VN", "KR", "AR", "CL", "CO", "RU", "UA", "IS", "RO",
]
WORDS = (
    "the customer asked about invoice delivery shipping refund order account upgrade plan "
    "support ticket was resolved pending review called back next week prefers email contact "
    "via phone only during business hours moved to a new address discount applied loyalty "
    "program member since renewal reminder sent payment failed retried successfully churn "
    "risk high low medium priority note from sales team onboarding completed trial extended"
).split()
NOTE_WORDS_NON_ASCII = ["café", "naïve", "façade", "Größe", "résumé", "jalapeño", "€", "—", "→"]

DATE0 = date(2015, 1, 1)
DATE_SPAN = (date(2024, 12, 31) - DATE0).days
HEADER = ["id", "first_name", "last_name", "email", "age", "signup_date", "country",
          "balance", "active", "note"]


def ascii_slug(name: str) -> str:
    slug = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = "".join(c for c in slug if c.isalnum())
    return slug or "user"


def make_note(rng: random.Random) -> str:
    """A short free-text note; ~30% of notes contain a comma, a quote or a newline."""
    words = rng.choices(WORDS, k=rng.randint(3, 12))
    if rng.random() < 0.05:
        words[rng.randrange(len(words))] = rng.choice(NOTE_WORDS_NON_ASCII)
    r = rng.random()
    if r < 0.12:  # a comma
        i = rng.randrange(1, len(words)) if len(words) > 1 else 0
        words[i - 1] += ","
    elif r < 0.21:  # a quotation
        i = rng.randrange(len(words))
        words[i] = '"' + words[i] + '"'
    elif r < 0.27:  # a multi-line note
        text = " ".join(words)
        cut = rng.randrange(len(text))
        return text[:cut].rstrip() + "\n" + text[cut:].lstrip()
    elif r < 0.30:  # all of them
        text = " ".join(words)
        return f'{text}, see "ticket {rng.randint(1000, 99999)}"\nfollow-up: {rng.choice(WORDS)}'
    text = " ".join(words)
    if r < 0.45:
        return text.capitalize() + "."
    return text


def rows(n: int, seed: int, invalid_rate: float):
    rng = random.Random(seed)
    rand = rng.random
    for i in range(1, n + 1):
        first = rng.choice(FIRST_NON_ASCII) if rand() < 0.15 else rng.choice(FIRST)
        last = rng.choice(LAST_NON_ASCII) if rand() < 0.15 else rng.choice(LAST)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}{rng.randint(1, 9999)}@{rng.choice(DOMAINS)}"
        age = str(rng.randint(18, 90))
        signup = (DATE0 + timedelta(days=rng.randint(0, DATE_SPAN))).isoformat()
        country = rng.choice(COUNTRIES)
        balance = f"{rng.randint(-50000, 5000000) / 100:.2f}"
        active = "true" if rand() < 0.7 else "false"
        note = make_note(rng)
        if invalid_rate and rand() < invalid_rate:
            kind = rng.randrange(4)
            if kind == 0:
                age = str(rng.choice([7, 150, -3]))
            elif kind == 1:
                email = email.replace("@", " at ")
            elif kind == 2:
                country = "XX"
            else:
                signup = "2021-02-30"
        yield (str(i), first, last, email, age, signup, country, balance, active, note)


def write_repeated(out, n: int, block: int, seed: int, invalid_rate: float) -> None:
    """Writes n rows cycling over `block` pre-formatted rows, each with a fresh id."""
    tails = io.StringIO()
    w = csv.writer(tails, lineterminator="\n")
    for row in rows(min(n, block), seed, invalid_rate):
        w.writerow(row[1:])
    tails = tails.getvalue()
    # split the block into per-row tails: rows may span lines, so re-read them with csv
    per_row = []
    for rec in csv.reader(io.StringIO(tails, newline="")):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(rec)
        per_row.append(buf.getvalue())
    written = 0
    while written < n:
        take = min(len(per_row), n - written)
        out.write("".join(f"{written + i + 1},{per_row[i]}" for i in range(take)))
        written += take


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000, help="data rows (default 2000000)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--invalid-rate", type=float, default=0.001,
                    help="fraction of rows that break the schema (default 0.001)")
    ap.add_argument("--out", default="-", help="output file, - for stdout (default)")
    ap.add_argument("--block", type=int, default=0, metavar="N",
                    help="fast mode for huge streams: generate N distinct rows once, then repeat "
                         "them with fresh unique ids (e.g. --rows 20000000 --block 100000)")
    args = ap.parse_args()

    if args.out == "-":
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=False)
    else:
        out = open(args.out, "w", encoding="utf-8", newline="")
    try:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(HEADER)
        if args.block > 0:
            write_repeated(out, args.rows, args.block, args.seed, args.invalid_rate)
            out.flush()
            return 0
        chunk = []
        for row in rows(args.rows, args.seed, args.invalid_rate):
            chunk.append(row)
            if len(chunk) == 10_000:
                w.writerows(chunk)
                chunk.clear()
        w.writerows(chunk)
        out.flush()
    except BrokenPipeError:
        # A consumer that stopped reading early (e.g. head) is not an error of ours.
        sys.stderr.close()
        return 0
    finally:
        if args.out != "-":
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
