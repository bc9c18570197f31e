#!/usr/bin/env bash
# Adaptive delivery (issue 36), side by side in one run (see bench/README.md):
#   (a) a receiver with room for 6 requests (429 above, else 200 after 50 ms): fixed 6 (the best
#       fixed concurrency), fixed 32, and auto; rows/s and the share of requests throttled
#   (b) a receiver without limit, 50 ms: --concurrency 16 against auto
#   (c) a receiver announcing 20 requests/s in X-RateLimit-* headers (and enforcing it):
#       --concurrency auto, no --rate; 429s and requests/s
# rows/s is over pulse's whole command; req/s over the receiver's span (first arrival to last
# answer), the allowed rate's yardstick in (c).
#
#   bench/adaptive.sh                 PULSE defaults to target/release/pulse
#   bench/adaptive.sh --batches N     batches per run in (a) and (b) (default 1500, 10 rows each)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
batches=1500
while [[ $# -gt 0 ]]; do
  case "$1" in
    --batches) batches=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "adaptive.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
PULSE=${PULSE:-${CARGO_TARGET_DIR:-$repo/target}/release/pulse}
[[ -x "$PULSE" ]] || { echo "adaptive.sh: no pulse at $PULSE (cargo build --release)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pulse-adaptive.XXXXXX")
sinks=()
cleanup() { for pid in "${sinks[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

rows=$((batches * 10))
python3 "$here/gen_csv.py" --rows "$rows" --out "$work/rows.csv" >/dev/null
python3 "$here/gen_csv.py" --rows 2000 --out "$work/rate.csv" >/dev/null

# Starts a receiver with the given options; sets $url.
start_sink() {
  python3 "$here/adaptive_sink.py" --port 0 "$@" >"$work/sink.out" 2>&1 &
  sinks+=($!)
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening on //p' "$work/sink.out")
    [[ -n "$url" ]] && return
    sleep 0.05
  done
  echo "adaptive.sh: the receiver did not start" >&2; exit 1
}

# push LABEL FILE ARGS...: one push to $url; prints rows/s, requests/s, throttled share, most
# in flight at the receiver, and pulse's own in-flight line.
push() {
  local label=$1 file=$2; shift 2
  curl -s "${url}reset" >/dev/null
  local db="$work/$RANDOM.db" start end
  start=$(date +%s.%N)
  "$PULSE" push "$file" --url "${url}hook" --no-sign --db "$db" "$@" 2>"$work/err" \
    || { echo "$label: pulse failed"; cat "$work/err"; return; }
  end=$(date +%s.%N)
  local stats; stats=$(curl -s "${url}stats")
  python3 - "$label" "$start" "$end" "$stats" "$(sed -n 's/^pulse: in flight //p' "$work/err")" "$(wc -l <"$file")" <<'EOF'
import json, sys
label, start, end, stats, in_flight, lines = sys.argv[1:]
s = json.loads(stats)
secs = float(end) - float(start)
rows = int(lines) - 1
share = 100.0 * s["throttled"] / max(s["requests"], 1)
span = max(s["last_ns"] - s["first_ns"], 1) / 1e9
print(f"{label:<22} {rows / secs:6.0f} rows/s {s['ok'] / span:6.1f} req/s (receiver's span)  {secs:6.2f}s  "
      f"{s['requests']:5d} requests  {s['throttled']:4d} throttled ({share:4.1f}%)  "
      f"most in flight {s['most_in_flight']:3d}  {in_flight}")
EOF
}

small=(--batch-size 10)
echo "(a) receiver with room for 6 requests in flight (429 above), 50 ms; $batches batches of 10 rows"
start_sink --capacity 6 --delay 50
push "fixed 6 (best fixed)" "$work/rows.csv" "${small[@]}" --concurrency 6
push "fixed 32" "$work/rows.csv" "${small[@]}" --concurrency 32 --retry-schedule 100ms --retries 500
push "auto" "$work/rows.csv" "${small[@]}" --concurrency auto --retry-schedule 100ms --retries 500
echo
echo "(b) receiver without limit, 50 ms; $batches batches of 10 rows"
start_sink --delay 50
push "fixed 16" "$work/rows.csv" "${small[@]}" --concurrency 16
push "auto" "$work/rows.csv" "${small[@]}" --concurrency auto
echo
echo "(c) receiver announcing 20 requests/s (X-RateLimit-*, enforced), 10 ms; 200 batches of 10 rows"
start_sink --per-second 20 --delay 10
push "auto, headers only" "$work/rate.csv" "${small[@]}" --concurrency auto
