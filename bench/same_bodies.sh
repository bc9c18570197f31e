#!/usr/bin/env bash
# Are two builds' request bodies byte-identical? Dry runs of the same 30k-row file under four
# option sets (formats, events, sync modes, GET, compression, table shaping), with the ids,
# timestamps and signatures that differ on every run masked, hashed side by side.
# Usage: bench/same_bodies.sh BEFORE_BINARY AFTER_BINARY
set -euo pipefail
before=$1 after=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_csv.py" --rows 30000 --invalid-rate 0.01 --out "$work/rows.csv"
export PULSE_SECRET=whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD
sets=(
  "--schema $here/schema.json --events all,valid,invalid --template-id t --user-id u --metadata {\"a\":1} --batch-size 500"
  "--format impler --mode upsert --batch-size 777 --select id,email,age --rename email=mail"
  "--format valmi --method get --mode create --schema $here/schema.json --events valid"
  "--format flatfile --mode mirror --key id --sync s --schema $here/schema.json --compress gzip --max-body-size 64KiB"
)
mask() {
  sed -E 's/(run|evt|msg)_[0-9A-HJKMNP-TV-Z]{26}/\1_X/g; s/webhook-timestamp: [0-9]+/webhook-timestamp: T/; s/v1,[A-Za-z0-9+\/=]+/v1,S/g'
}
status=0
for i in "${!sets[@]}"; do
  for which in before after; do
    binary=${!which}
    # shellcheck disable=SC2086
    "$binary" push "$work/rows.csv" --url http://127.0.0.1:9/hook --dry-run --db "$work/$which.db" \
      ${sets[$i]} | mask > "$work/$which.out"
    [ -s "$work/$which.out" ] || { echo "set $((i + 1)): $which printed nothing" >&2; exit 1; }
    sha256sum < "$work/$which.out" | cut -c1-16 > "$work/$which.$i"
  done
  b=$(cat "$work/before.$i") a=$(cat "$work/after.$i")
  echo "set $((i + 1)): before $b after $a $([ "$b" = "$a" ] && echo same || echo DIFFERENT)"
  [ "$b" = "$a" ] || status=1
done
exit $status
