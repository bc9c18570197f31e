#!/usr/bin/env bash
# Quick start: push fixtures/customers.csv to a local `pulse receive`, signed, and show what
# arrived. Uses the release binary built by `cargo build --release` (or $PULSE).
set -euo pipefail
cd "$(dirname "$0")/.."
pulse=${PULSE:-target/release/pulse}
work=$(mktemp -d)
trap 'kill "$receiver" 2>/dev/null || true; rm -rf "$work"' EXIT

# The secret goes in the environment, where both commands read it: on the command line other
# users could read it in the process list.
PULSE_SECRET=$("$pulse" secret new)
export PULSE_SECRET
"$pulse" receive --port 0 --out "$work/rows.jsonl" > "$work/receive.log" &
receiver=$!
for _ in $(seq 50); do grep -q listening "$work/receive.log" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/receive.log")

PULSE_DB="$work/pulse.db" "$pulse" push fixtures/customers.csv --url "$url" --batch-size 50
sleep 0.2
echo "--- the receiver printed:"
tail -n +2 "$work/receive.log"
echo "--- rows written by the receiver: $(wc -l < "$work/rows.jsonl")"
head -n 1 "$work/rows.jsonl"
