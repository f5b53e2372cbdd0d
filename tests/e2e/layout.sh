#!/usr/bin/env bash
# lib/ shows its architecture: one folder per library target with its own CMakeLists.txt,
# includes that name the room, tests/unit/ mirroring lib/, and a room's headers reachable only
# by targets that link it (a probe that includes a room it does not link does not compile), and
# the names of the suite's files on disk spelt in state/ alone.
set -u
src=${SMS_SOURCE_DIR:?}
build=$(dirname "${SMS_BIN_DIR:?}")
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

rooms=$(cd "$src/lib" && find . -mindepth 1 -maxdepth 1 -type d | sed 's|^\./||' | sort)
check "lib/ has its rooms ($(tr '\n' ' ' <<<"$rooms"))" '[ "$(wc -l <<<"$rooms")" -ge 8 ]'
loose=$(find "$src/lib" -maxdepth 1 -type f ! -name CMakeLists.txt)
check "no source file loose in lib/ ($loose)" '[ -z "$loose" ]'
for r in $rooms; do
  check "lib/$r has its CMakeLists.txt" '[ -f "$src/lib/$r/CMakeLists.txt" ]'
done
for d in $(cd "$src/tests/unit" && find . -mindepth 1 -maxdepth 1 -type d | sed 's|^\./||'); do
  check "tests/unit/$d mirrors a room of lib/" '[ -d "$src/lib/$d" ]'
done
loose_tests=$(find "$src/tests/unit" -maxdepth 1 -name '*_test.cpp')
check "no unit test loose in tests/unit/ ($loose_tests)" '[ -z "$loose_tests" ]'

# Every include of the project's own headers names its room, and the header is there.
bad=$(grep -rhoE '^#include "[^"]+"' "$src/lib" "$src/tools" "$src/tests/unit" "$src/tests/fuzz" |
  sed -E 's/#include "(.*)"/\1/' | sort -u | while read -r h; do
    case $h in
    */*) [ -f "$src/lib/$h" ] || echo "$h" ;;
    tempdir.hpp | fuzz.hpp) ;;
    *) echo "$h" ;;
    esac
  done)
check "includes name an existing room header (not: $bad)" '[ -z "$bad" ]'

# The suite's files on disk have one owner: their names are spelt in lib/state/ alone (comments
# aside); every other room asks it.
names='\.sms-suite|"[^"]*\.why"|settle\.lock|reassembly\.lock|received-texts|smsq\.mttx|\.(fax|voice)\.call"|"retry/'
names+='|join\([^;]*"(journal|retry|refs|lasthop|mr|calls|cursor|records|results|sip)"'
spelt=$(cd "$src" && grep -rnE "$names" lib --include='*.cpp' --include='*.hpp' |
  grep -v '^lib/state/' | grep -vE '^[^:]+:[0-9]+:\s*//' | sed -E 's|//.*||' | grep -E "$names")
check "state folder names spelt outside lib/state/: $spelt" '[ -z "$spelt" ]'

# The build enforces the rooms: with core's include path only, fax's header is not found; with
# the rooms sms_fax links, it is.
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
probe=$(mktemp --suffix=.cpp)
trap 'rm -f "$probe"' EXIT
printf '#include "fax/fax.hpp"\nint main() {}\n' >"$probe"
inc() { for r in "$@"; do printf -- '-I%s ' "$build/include/$r"; done; }
check "a target linking only sms_core cannot include fax/fax.hpp" \
  '! "$cxx" -std=c++20 -fsyntax-only $(inc core) "$probe" 2>/dev/null'
check "a target linking sms_fax can (compiler: $cxx)" \
  '"$cxx" -std=c++20 -fsyntax-only $(inc util asterisk core directory fax) "$probe"'
exit $fail
