#!/usr/bin/env bash
# Installs what is missing, builds with a preset (dev by default; asan for ASan+UBSan), runs every
# test with ctest, and prints the slowest tests and how long the build and the tests took.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}

bash scripts/install-deps.sh
start=$SECONDS
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
built=$SECONDS
# Every test has a time limit (tests/CMakeLists.txt: at most 120 s, three times that under asan).
set +e
ctest --preset "$preset" -j "$(nproc)"
rc=$?
set -e
tested=$SECONDS

# The slowest tests of this run, from ctest's log (a block per test: "N/M Test: NAME" ...
# "Test time = S sec").
log=build/$preset/Testing/Temporary/LastTest.log
if [[ -f $log ]]; then
  echo
  echo "Slowest tests:"
  awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
       /^Test time = / && name != "" { printf "%9.2f s  %s\n", $4, name; name = "" }' "$log" |
    sort -rn | head -10
fi
echo
echo "test.sh: build $((built - start)) s, tests $((tested - built)) s ($preset preset, $(nproc) cores)"
exit "$rc"
