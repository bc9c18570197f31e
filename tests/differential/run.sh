#!/usr/bin/env bash
# Differential check of pulse's schema validation against frictionless-py.
# Generates the corpus, runs both, compares. Skips (exit 0) when frictionless is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import frictionless' 2>/dev/null; then
    echo "differential: skipped (frictionless-py is not installed: pip install frictionless)"
    exit 0
fi
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
"$python" "$here/gen_corpus.py" "$corpus"
"$python" "$here/frictionless_verdicts.py" "$corpus"
(cd "$root" && PULSE_DIFF_DIR="$corpus" cargo test --quiet --lib -- --ignored write_pulse_verdicts >/dev/null)
"$python" "$here/compare.py" "$corpus"
(cd "$root" && cargo build --quiet)
PULSE="$root/target/debug/pulse" "$python" "$here/infer_compare.py" "$corpus"
