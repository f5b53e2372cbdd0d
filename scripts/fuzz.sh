#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan + UBSan + coverage) and runs each
# for SECONDS (default 60); fails on any crash, leak, timeout, out-of-memory or sanitizer report.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]      CI runs `bash scripts/fuzz.sh 45` (.ci/run)
#
# Release run (before tagging): an hour per target on every core, keeping the grown corpus:
#   FUZZ_JOBS=$(nproc) bash scripts/fuzz.sh 3600
# then copy anything new and small worth keeping from build/fuzz/corpus/<target>/ into
# tests/fuzz/corpus/<target>/ (`fuzz_<target> -merge=1 tests/fuzz/corpus/<target>
# build/fuzz/corpus/<target>` keeps only inputs that add coverage).
#
# Inputs that once crashed live in tests/fuzz/crashes/<target>/; each is replayed first, so a
# fixed bug stays fixed. A new crash is saved as build/fuzz/artifacts/<target>/crash-<sha1>:
# replay it with `build/fuzz/tests/fuzz/fuzz_<target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${1:-60}
shift || true
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 64; }
jobs=${FUZZ_JOBS:-1}

bash scripts/install-deps.sh
cmake --preset fuzz >/dev/null
build=$root/build/fuzz
cmake --build "$build" --target fuzzers -j "$(nproc)"

if (($#)); then
  targets=("$@")
else
  mapfile -t targets < <(grep -v '^$' "$build/tests/fuzz/fuzzers.txt")
fi

# halt_on_error and abort_on_error make every report a crash libFuzzer saves; leaks are
# reported at exit of each run (detect_leaks) and by libFuzzer per input (-detect_leaks=1).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

failed=()
for t in "${targets[@]}"; do
  exe=$build/tests/fuzz/fuzz_$t
  seeds=$root/tests/fuzz/corpus/$t
  crashes=$root/tests/fuzz/crashes/$t
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  log=$build/logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  [[ -x $exe ]] || { echo "fuzz.sh: no fuzz target $t ($exe)" >&2; failed+=("$t"); continue; }

  # Regressions: every input that once crashed must now pass.
  if [[ -d $crashes ]] && compgen -G "$crashes/*" >/dev/null; then
    if ! "$exe" "$crashes"/* >"$log.regress" 2>&1; then
      echo "== $t: FAILED: a saved crash input crashes again (log: $log.regress)"
      tail -n 30 "$log.regress"
      failed+=("$t")
      continue
    fi
  fi

  dict=()
  [[ -f $root/tests/fuzz/$t.dict ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "== $t: fuzzing for ${seconds}s (${jobs} job(s))"
  args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -max_len=65536
        -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}")
  if ((jobs > 1)); then
    args+=(-fork="$jobs" -ignore_crashes=0 -ignore_ooms=0 -ignore_timeouts=0)
  fi
  # The grown corpus first (new inputs go there), then the seeds, read-only.
  if "$exe" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | tr '\n' ' ' || true
    echo "ok"
  else
    echo "== $t: FAILED (log: $log)"
    grep -E 'ERROR: |runtime error:|fuzz property violated|Test unit written to' "$log" |
      head -n 10 || true
    tail -n 40 "$log"
    failed+=("$t")
  fi
done

if ((${#failed[@]})); then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each with no crash, leak or sanitizer report"
