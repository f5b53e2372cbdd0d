#!/usr/bin/env bash
# The contract every tool keeps: --help and --version exit 0 and write only stdout; an unknown
# option exits 64 with exactly two lines on stderr and nothing on stdout.
set -u
tool=$1
name=$(basename "$tool")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $name: $1"; fail=1; fi; }

for opt in --help --version; do
  SMS_SUITE_CONF=/nonexistent/sms-suite.conf "$tool" $opt >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  check "$opt exits 0 (got $rc)" '[ $rc -eq 0 ]'
  check "$opt writes to stdout" '[ -s "$tmp/out" ]'
  check "$opt writes nothing to stderr: $(head -c 300 "$tmp/err")" '[ ! -s "$tmp/err" ]'
done
grep -q "^$name (sms-suite) " "$tmp/out" || { echo "FAIL: $name: --version first line"; fail=1; }
grep -q "fmt " "$tmp/out" || { echo "FAIL: $name: --version lists no libraries"; fail=1; }

"$tool" --no-such-option >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
check "unknown option exits 64 (got $rc)" '[ $rc -eq 64 ]'
check "unknown option: two lines on stderr (got $(wc -l <"$tmp/err"))" '[ "$(wc -l <"$tmp/err")" -eq 2 ]'
check "unknown option: nothing on stdout" '[ ! -s "$tmp/out" ]'
check "unknown option: first line is '$name: error: ...'" 'head -1 "$tmp/err" | grep -q "^$name: error: "'
check "unknown option: second line points to --help" \
  'sed -n 2p "$tmp/err" | grep -qx "Try '"'"'$name --help'"'"' for more information."'
exit $fail
