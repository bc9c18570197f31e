#!/usr/bin/env bash
# The pulse benchmark, one command (see bench/README.md).
#
#   bench/run.sh                      2,000,000 rows, 3 runs of each benchmark, alternating
#   bench/run.sh --rows 200000 --runs 1
#   bench/run.sh --rss-only           peak RSS of pulse on 20,000,000 rows streamed from stdin
#   bench/run.sh --remote             a receiver 50 ms away: sequential vs --concurrency,
#                                     --compress, --rate (see bench/README.md)
#   bench/run.sh --postgres start     also push with the log on PostgreSQL: a throwaway local
#                                     cluster, durable settings (tests/postgres/cluster.sh)
#
# Options:
#   --rows N        rows in the generated file (default 2000000)
#   --runs N        runs of each benchmark (default 3)
#   --no-python     skip the Python baseline
#   --rss-only      only the memory check: push (and validate, when available) on a stream
#   --rss-rows N    rows for --rss-only (default 20000000)
#   --remote        only the remote-receiver benchmark
#   --delay MS      --remote: the receiver answers MS after a body arrived (default 50)
#   --bandwidth B   --remote: bytes/s over all connections (default 0: no cap; 12500000 is
#                   100 Mbit/s)
#   --postgres URL  also "pulse push (postgres)", the log in a fresh database per run on the
#                   server URL names (an admin URL: psql creates and drops the databases), or
#                   `start` for a throwaway local cluster
# Environment:
#   PULSE           the pulse binary (default: $CARGO_TARGET_DIR or ./target, release; built if missing)
#   BENCH_TMPDIR    where the per-run databases go (default bench/data)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
rows=2000000
runs=3
python_baseline=1
rss_only=0
rss_rows=20000000
remote=0
delay_ms=50
bandwidth=0
postgres=""

die() { echo "run.sh: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=${2:?--rows needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --no-python) python_baseline=0; shift ;;
    --rss-only) rss_only=1; shift ;;
    --rss-rows) rss_rows=${2:?--rss-rows needs a value}; shift 2 ;;
    --remote) remote=1; python_baseline=0; shift ;;
    --delay) delay_ms=${2:?--delay needs a value}; shift 2 ;;
    --bandwidth) bandwidth=${2:?--bandwidth needs a value}; shift 2 ;;
    --postgres) postgres=${2:?--postgres needs a URL or start}; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$rows" =~ ^[0-9]+$ && "$runs" =~ ^[1-9][0-9]*$ && "$rss_rows" =~ ^[0-9]+$ ]] \
  || die "--rows, --runs and --rss-rows take positive integers"

# --- tools ------------------------------------------------------------------------------------
TIME=/usr/bin/time
"$TIME" -v true >/dev/null 2>&1 || die "/usr/bin/time (GNU time) is needed: apt-get install -y time"
if [[ -z "${PULSE:-}" ]]; then
  PULSE="${CARGO_TARGET_DIR:-$repo/target}/release/pulse"
  if [[ ! -x "$PULSE" ]]; then
    echo "building pulse (release) ..." >&2
    (cd "$repo" && cargo build --release --quiet)
  fi
fi
[[ -x "$PULSE" ]] || die "no pulse binary at $PULSE"
if [[ $python_baseline == 1 ]]; then
  python3 -c 'import requests' 2>/dev/null || die "the Python baseline needs requests: pip install requests"
fi
has_schema=0; has_validate=0
# The help is read whole first: `grep -q` leaving early would fail the pipe under pipefail.
push_help=$("$PULSE" push --help 2>/dev/null || true)
grep -q -- '--schema' <<<"$push_help" && has_schema=1
has_template=0
grep -q -- '--template' <<<"$push_help" && has_template=1
"$PULSE" validate --help >/dev/null 2>&1 && has_validate=1

# --- scratch space, sink, cleanup ------------------------------------------------------------
mkdir -p "$here/data"
work=$(mktemp -d "${BENCH_TMPDIR:-$here/data}/run.XXXXXX")
sink_pid=""
pg_cluster=""
cleanup() {
  if [[ -n "$sink_pid" ]]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
  if [[ -n "$pg_cluster" ]]; then bash "$repo/tests/postgres/cluster.sh" stop "$pg_cluster"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$here/sink.py" --port 0 >"$work/sink.out" 2>"$work/sink.err" &
sink_pid=$!
url=""
for _ in $(seq 1 100); do   # up to 10 s
  url=$(grep -o 'http://[0-9.:]*/' "$work/sink.out" || true)
  [[ -n "$url" ]] && break
  kill -0 "$sink_pid" 2>/dev/null || die "the sink exited: $(cat "$work/sink.err")"
  sleep 0.1
done
[[ -n "$url" ]] || die "the sink did not start within 10 s"
sink_stats() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + "stats").read().decode())' "$url"; }

# CPU seconds the sink has used so far (utime + stime), to show it is never the bottleneck
clk_tck=$(getconf CLK_TCK)
sink_cpu() { awk -v t="$clk_tck" '{printf "%.2f", ($14 + $15) / t}' "/proc/$sink_pid/stat"; }

secret=$("$PULSE" secret new)
results="$work/results.jsonl"

# measure NAME ROWS INPUT_BYTES DB|- CMD...: runs CMD under /usr/bin/time -v, records one result.
measure() {
  local name=$1 n=$2 bytes=$3 db=$4; shift 4
  local before after cpu0 cpu1 t0 t1 rc=0
  before=$(sink_stats); cpu0=$(sink_cpu); t0=$(date +%s%N)
  "$TIME" -v -o "$work/time.txt" "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
  t1=$(date +%s%N); cpu1=$(sink_cpu); after=$(sink_stats)
  if [[ ",${ok_rcs:-0}," != *",$rc,"* ]]; then
    echo "  $name failed (exit $rc):" >&2; tail -n 5 "$work/err.txt" >&2
  fi
  local db_args=()
  [[ "$db" != - ]] && db_args=(--db "$db")
  python3 "$here/summarize.py" record "$results" --name "$name" --time-file "$work/time.txt" \
    --rows "$n" --input-bytes "$bytes" --rc "$rc" --sink-before "$before" --sink-after "$after" \
    --wall-ns $((t1 - t0)) --ok-rcs "${ok_rcs:-0}" \
    --sink-cpu "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" \
    "${db_args[@]}"
}

# measure_stream NAME DB|- PULSE_ARGS...: like measure, for pulse reading the generator's stream.
measure_stream() {
  local name=$1 db=$2; shift 2
  local before after cpu0 cpu1 t0 t1 rc=0 db_args=() pulse_args=("$@")
  if [[ "$db" != - ]]; then db_args=(--db "$db"); pulse_args+=(--db "$db"); fi
  before=$(sink_stats); cpu0=$(sink_cpu); t0=$(date +%s%N)
  python3 "$here/gen_csv.py" --rows "$rss_rows" --block 100000 \
    | "$TIME" -v -o "$work/time.txt" "$PULSE" "${pulse_args[@]}" >"$work/out.txt" 2>"$work/err.txt" \
    || rc=$?
  t1=$(date +%s%N); cpu1=$(sink_cpu); after=$(sink_stats)
  if [[ ",${ok_rcs:-0}," != *",$rc,"* ]]; then
    echo "  $name failed (exit $rc):" >&2; tail -n 5 "$work/err.txt" >&2
  fi
  python3 "$here/summarize.py" record "$results" --name "$name" --time-file "$work/time.txt" \
    --rows "$rss_rows" --input-bytes 0 --rc "$rc" --sink-before "$before" --sink-after "$after" \
    --wall-ns $((t1 - t0)) --ok-rcs "${ok_rcs:-0}" \
    --sink-cpu "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" \
    "${db_args[@]}"
}

fresh_db() { rm -f "$work/$1" "$work/$1-wal" "$work/$1-shm"; echo "$work/$1"; }

machine() {
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
  echo "pulse:   $PULSE ($("$PULSE" --version)), git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "python:  $(python3 --version 2>&1), requests $(python3 -c 'import requests; print(requests.__version__)' 2>/dev/null || echo '-')"
  echo "sink:    $url (bench/sink.py)"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average before the runs: other work on the machine skews timings)"
}

# --- memory check on a stream ----------------------------------------------------------------
if [[ $rss_only == 1 ]]; then
  machine
  echo "memory check: $rss_rows rows streamed from bench/gen_csv.py --block 100000 into stdin"
  gen=(python3 "$here/gen_csv.py" --rows "$rss_rows" --block 100000)
  # /usr/bin/time wraps pulse only, not the generator; input bytes of a stream are not known up
  # front, so the MB/s column is 0 here
  measure_stream "rss push" "$(fresh_db rss.db)" push - --url "$url" --secret "$secret" --quiet --json
  if [[ $has_template == 1 ]]; then
    # The same stream through a 10-field template: memory stays bounded by the batch too.
    measure_stream "rss push+template" "$(fresh_db rss-template.db)" push - \
      --template "$here/template.j2" --url "$url" --secret "$secret" --quiet --json
  fi
  if [[ $has_validate == 1 ]]; then
    # exit 3 = some rows are invalid: expected, the data holds a few invalid rows on purpose
    ok_rcs=0,3 measure_stream "rss validate" - validate - --schema "$here/schema.json"
  else
    echo "  (pulse validate is not available in this build: skipped)"
  fi
  python3 "$here/summarize.py" report "$results"
  echo "note: rows/s here is bounded by the generator feeding the pipe; see the full run for speed"
  cp "$results" "$here/data/last-rss-results.jsonl"
  exit 0
fi

# --- the data ----------------------------------------------------------------------------------
data="$here/data/rows_$rows.csv"
if [[ ! -s "$data" ]]; then
  echo "generating $data ..." >&2
  python3 "$here/gen_csv.py" --rows "$rows" --out "$data.tmp"
  mv "$data.tmp" "$data"
fi
bytes=$(stat -L -c %s "$data")
# The same rows as JSON lines (issue 37), when this pulse reads JSON.
has_json=0
grep -q -- '--input-format' <<<"$push_help" && has_json=1
jsonl="$here/data/rows_$rows.jsonl"
if [[ $has_json == 1 && ! -s "$jsonl" ]]; then
  echo "generating $jsonl ..." >&2
  python3 "$here/csv_to_jsonl.py" "$data" "$jsonl.tmp"
  mv "$jsonl.tmp" "$jsonl"
fi

# --- a remote receiver ------------------------------------------------------------------------
if [[ $remote == 1 ]]; then
  python3 "$here/sink.py" --port 0 --delay "$delay_ms" --bandwidth "$bandwidth" \
    >"$work/remote.out" 2>"$work/remote.err" &
  remote_pid=$!
  trap 'kill $remote_pid 2>/dev/null || true; cleanup' EXIT
  remote_url=""
  for _ in $(seq 1 100); do
    remote_url=$(grep -o 'http://[0-9.:]*/' "$work/remote.out" || true)
    [[ -n "$remote_url" ]] && break
    sleep 0.1
  done
  [[ -n "$remote_url" ]] || die "the remote sink did not start"
  machine
  echo "input:   $data ($rows rows, $bytes bytes), batch size 5000, signed, fresh log DB per run"
  echo "remote:  $remote_url answers $delay_ms ms after each body; link capped at $bandwidth bytes/s (0: no cap)"
  remote_results="$work/remote.jsonl"
  : >"$remote_results"
  # remote NAME PULSE_ARGS...: one push to the remote sink, its sink-side timing recorded
  remote_run() {
    local name=$1; shift
    local db t0 t1 rc=0
    db=$(fresh_db remote.db)
    curl -s "${remote_url}reset" >/dev/null 2>&1 || python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "reset").read()' "$remote_url"
    t0=$(date +%s%N)
    "$PULSE" push "$data" --url "$remote_url" --secret "$secret" --db "$db" --quiet --json "$@" \
      >"$work/out.txt" 2>"$work/err.txt" || rc=$?
    t1=$(date +%s%N)
    [[ $rc == 0 ]] || { echo "  $name failed (exit $rc):" >&2; tail -n 5 "$work/err.txt" >&2; }
    python3 - "$name" "$rc" $((t1 - t0)) "$rows" "$delay_ms" "$bandwidth" "$remote_url" "$*" >>"$remote_results" <<'PY'
import json, sys, urllib.request
name, rc, wall_ns, rows, delay_ms, bandwidth, url, args = sys.argv[1:]
stats = json.loads(urllib.request.urlopen(url + "stats").read())
print(json.dumps({"name": name, "rc": int(rc), "wall_s": int(wall_ns) / 1e9, "rows": int(rows),
                  "delay_ms": float(delay_ms), "bandwidth": float(bandwidth), "args": args, **stats}))
PY
  }
  for i in $(seq 1 "$runs"); do
    echo "run $i/$runs"
    remote_run "sequential"
    for n in 4 8 16; do remote_run "--concurrency $n" --concurrency "$n"; done
    remote_run "--compress gzip" --compress gzip
    remote_run "--compress zstd" --compress zstd
    remote_run "--rate 20/s --concurrency 4" --rate 20/s --concurrency 4
  done
  python3 "$here/summarize.py" remote "$remote_results"
  cp "$remote_results" "$here/data/last-remote-results.jsonl"
  exit 0
fi

# --- a PostgreSQL log -------------------------------------------------------------------------
if [[ "$postgres" == start ]]; then
  eval "$(bash "$repo/tests/postgres/cluster.sh" start --durable)"
  pg_cluster=$PULSE_TEST_PG_DIR
  postgres=$PULSE_TEST_POSTGRES
fi
# fresh_pg N: a fresh database for run N, its URL on stdout
fresh_pg() {
  local name="pulse_bench_$$_$1"
  PGOPTIONS="-c client_min_messages=warning" psql -q "$postgres" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >&2
  echo "${postgres%/*}/$name"
}
drop_pg() { psql -q "$postgres" -c "DROP DATABASE IF EXISTS pulse_bench_$$_$1 WITH (FORCE)" >&2; }

# --- the runs, alternating -------------------------------------------------------------------
machine
[[ -z "$postgres" ]] || echo "postgres: $(psql -Atq "$postgres" -c 'SELECT version()' | cut -d' ' -f1-2), $(psql -Atq "$postgres" -c 'SHOW fsync') fsync, $(psql -Atq "$postgres" -c 'SHOW synchronous_commit') synchronous_commit, on this machine"
echo "input:   $data ($rows rows, $bytes bytes), batch size 5000, signed, fresh log DB per run"
[[ $has_schema == 1 ]] || echo "note:    pulse push has no --schema yet: 'pulse push+schema' skipped"
[[ $has_validate == 1 ]] || echo "note:    pulse has no validate command yet: 'pulse validate' skipped"
cat /dev/null >"$results"
for i in $(seq 1 "$runs"); do
  echo "run $i/$runs"
  db=$(fresh_db pulse.db)
  measure "pulse push" "$rows" "$bytes" "$db" \
    "$PULSE" push "$data" --url "$url" --secret "$secret" --db "$db" --quiet --json
  if [[ -n "$postgres" ]]; then
    pg=$(fresh_pg "$i")
    measure "pulse push (postgres)" "$rows" "$bytes" - \
      "$PULSE" push "$data" --url "$url" --secret "$secret" --db "$pg" --quiet --json
    drop_pg "$i"
  fi
  if [[ $python_baseline == 1 ]]; then
    db=$(fresh_db python.db)
    measure "python baseline" "$rows" "$bytes" - \
      python3 "$here/baseline.py" "$data" --url "$url" --secret "$secret" --db "$db"
  fi
  if [[ $has_schema == 1 ]]; then
    db=$(fresh_db schema.db)
    measure "pulse push+schema" "$rows" "$bytes" "$db" \
      "$PULSE" push "$data" --schema "$here/schema.json" --url "$url" --secret "$secret" \
      --db "$db" --quiet --json
  fi
  if [[ $has_template == 1 ]]; then
    # A 10-field template mapping each row to an object, against the built-in format.
    db=$(fresh_db template.db)
    measure "pulse push+template" "$rows" "$bytes" "$db" \
      "$PULSE" push "$data" --template "$here/template.j2" --url "$url" --secret "$secret" \
      --db "$db" --quiet --json
  fi
  if [[ $has_json == 1 ]]; then
    # The same rows as JSON lines, typed: the JSON reader against the CSV one (MB/s of the
    # JSON file, which is larger).
    db=$(fresh_db jsonl.db)
    measure "pulse push (JSON lines)" "$rows" "$(stat -L -c %s "$jsonl")" "$db" \
      "$PULSE" push "$jsonl" --url "$url" --secret "$secret" --db "$db" --quiet --json
  fi
  if [[ $has_validate == 1 ]]; then
    # exit 3 = some rows are invalid: expected, the data holds a few invalid rows on purpose
    ok_rcs=0,3 measure "pulse validate" "$rows" "$bytes" - \
      "$PULSE" validate "$data" --schema "$here/schema.json"
  fi
done
python3 "$here/summarize.py" report "$results"
cp "$results" "$here/data/last-results.jsonl"
echo "raw results: bench/data/last-results.jsonl"
