#!/usr/bin/env bash
# Runs each fuzz target for a bounded time: FUZZ_SECONDS each (default 60).
#   fuzz/run.sh                 every target
#   fuzz/run.sh schema          only the named ones
# FUZZ_SANITIZER=none skips AddressSanitizer (faster; Rust code needs it little).
# FUZZ_FLAGS adds libFuzzer flags, e.g. "-fork=1 -ignore_ooms=1" to go on past a known OOM.
# Works on a stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly-only flags.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-address}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(csv_rows payload schema sheet)
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 1
fi
export RUSTC_BOOTSTRAP=1
status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s"
  # New inputs go to corpus/ (not committed); seeds/ is the committed starting set.
  if ! cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 ${FUZZ_FLAGS:-}; then
    echo "== $target found a problem: see fuzz/artifacts/$target/" >&2
    status=1
  fi
done
exit $status
