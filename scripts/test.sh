#!/usr/bin/env bash
# Installs what is missing, builds with a preset (dev by default; asan for ASan+UBSan) and runs
# every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}

bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)" --timeout 900
