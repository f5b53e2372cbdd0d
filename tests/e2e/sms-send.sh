#!/usr/bin/env bash
# sms-send end to end: the JSON of SPEC 2.10, the mttx queue files and the one delivery call
# app_sms and pbx_spool read, the directory's channel, and refusals that leave nothing behind.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

spool=$tmp/spool
mkdir -p "$spool"
sqlite3 "$tmp/dir.db" "CREATE TABLE PBXNumbers(Account TEXT PRIMARY KEY, Message TEXT NOT NULL,
  Extension TEXT NOT NULL); INSERT INTO PBXNumbers VALUES('600700800','S','PJSIP/1000');"
write_conf() { # $1 = extra [general] lines
  cat >"$tmp/sms.conf" <<CONF
[general]
spool_dir = $spool
$1
[directory]
backend = sqlite
sqlite_path = $tmp/dir.db
CONF
}
write_conf ""
conf=(--config "$tmp/sms.conf")
a161=$(printf 'a%.0s' $(seq 161))
count() { find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }

# 1. --dry-run --json: exactly SPEC 2.10's objects, one per part, and nothing written.
sms-send "${conf[@]}" --from 500100200 --to 600700800 --ref 167 --dry-run --json --text "$a161" \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
check "dry-run exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
{
  printf '{"part":1,"parts":2,"dcs":0,"udh":"0003A70201","septets":153,"units":153,"text":"%s"}\n' \
    "$(printf 'a%.0s' $(seq 153))"
  printf '{"part":2,"parts":2,"dcs":0,"udh":"0003A70202","septets":8,"units":8,"text":"aaaaaaaa"}\n'
} >"$tmp/want"
check "dry-run JSON is SPEC 2.10's: $(diff "$tmp/want" "$tmp/out" | head -5)" 'cmp -s "$tmp/want" "$tmp/out"'
check "dry-run: nothing on stderr" '[ ! -s "$tmp/err" ]'
check "dry-run writes nothing" '[ -z "$(find "$spool" -type f)" ]'

sms-send "${conf[@]}" --from 500100200 --to 600700800 --dry-run --json \
  --text $'Tab\there "quoted" back\\slash' >"$tmp/out"
check "JSON escapes; tab transliterated to a space; backslash costs 2 septets: $(cat "$tmp/out")" \
  'grep -qxF "{\"part\":1,\"parts\":1,\"dcs\":0,\"udh\":null,\"septets\":29,\"units\":28,\"text\":\"Tab here \\\"quoted\\\" back\\\\slash\"}" "$tmp/out"'

sms-send "${conf[@]}" --from 500100200 --to 600700800 --dry-run --text "$a161" >"$tmp/out"
check "dry-run summary: $(head -1 "$tmp/out")" 'grep -q "^would queue 2 SMS for 600700800 (GSM 7-bit)" "$tmp/out"'

# 2. A real send: queue files with ud## and dcs=, one call file as smsq writes it.
sms-send "${conf[@]}" --from 500100200 --to 600700800 --extension PJSIP/2000 --text hello \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
check "send exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "send: nothing on stderr" '[ ! -s "$tmp/err" ]'
check "one queue file" '[ "$(count "$spool/sms/mttx")" -eq 1 ]'
q=$(find "$spool/sms/mttx" -maxdepth 1 -type f -name '600700800.*' | head -1)
check "queue file named <queue>.<stem>-1: $q" '[[ "$(basename "$q")" == 600700800.*-1 ]]'
check "ud## hex (never ud=)" 'grep -qx "ud##00680065006C006C006F" "$q" && ! grep -q "^ud=" "$q"'
check "explicit dcs=0" 'grep -qx "dcs=0" "$q"'
check "oa, da, scts" 'grep -qx "oa=500100200" "$q" && grep -qx "da=600700800" "$q" && grep -q "^scts=20" "$q"'
call=$spool/outgoing/smsq.mttx.600700800.1
printf 'Channel: PJSIP/2000\nCallerID: SMS <9001>\nMaxRetries: 100\nRetryTime: 30\nWaitTime: 10\nArchive: yes\nApplication: SMS\nData: 600700800,sn\n' >"$tmp/want"
check "call file: $(diff "$tmp/want" "$call" 2>&1 | head -3)" 'cmp -s "$tmp/want" "$call"'
check "nothing else in outgoing/" '[ "$(ls -A "$spool/outgoing")" = smsq.mttx.600700800.1 ]'
check "no temporary left" '[ -z "$(find "$spool" -name "*.tmp")" ]'

# 3. Another message while the call is pending: queued, no second call.
sms-send "${conf[@]}" --from 500100200 --to 600700800 --extension PJSIP/2000 --text "$a161" >/dev/null
check "three queue files" '[ "$(count "$spool/sms/mttx")" -eq 3 ]'
check "still one call file" '[ "$(ls -A "$spool/outgoing" | wc -l)" -eq 1 ]'
check "two parts with udh#" '[ "$(grep -l "^udh#0003" "$spool"/sms/mttx/* | wc -l)" -eq 2 ]'

# The dry run shows the reference the next real send takes.
next=$(( ($(cat "$spool/sms/.sms-suite/refs/600700800") + 1) % 256 ))
sms-send "${conf[@]}" --from 500100200 --to 600700800 --dry-run --json --text "$a161" >"$tmp/out"
check "dry-run peeks the next reference $next: $(head -c 60 "$tmp/out")" \
  'grep -q "\"udh\":\"0003$(printf %02X $next)0201\"" "$tmp/out"'
check "dry-run does not take it" '[ $(( ($(cat "$spool/sms/.sms-suite/refs/600700800") + 1) % 256 )) -eq $next ]'

# 4. The directory's channel when --extension is absent; stdin without its last newline.
rm -f "$call"
printf 'from stdin\n' | sms-send "${conf[@]}" --from 500100200 --to 600700800 --json >"$tmp/out" 2>"$tmp/err"
check "stdin send exits 0: $(cat "$tmp/err")" '[ $? -eq 0 ]'
check "stdin's trailing newline dropped: $(cat "$tmp/out")" 'grep -q "\"septets\":10,\"units\":10,\"text\":\"from stdin\"}" "$tmp/out"'
check "directory channel used" 'grep -qx "Channel: PJSIP/1000" "$call"'

# 5. --no-dial: queued, no call.
sms-send "${conf[@]}" --from 500100200 --to +48111 --no-dial --text x >/dev/null 2>"$tmp/err"
check "--no-dial exits 0: $(cat "$tmp/err")" '[ $? -eq 0 ]'
check "--no-dial: '+' queue is '-48111' as app_sms names it" '[ -n "$(find "$spool/sms/mttx" -name "-48111.*")" ]'
check "--no-dial: no call" '[ ! -e "$spool/outgoing/smsq.mttx.-48111.1" ]'

# 6. Unicode: ucs2 policy matches smsq's own queue file for the same text; transliterate is 7-bit.
write_conf "unicode = ucs2"
sms-send "${conf[@]}" --from 500100200 --to 48600700800 --no-dial \
  --text "Zażółć gęślą jaźń ΑΒΓ αβγ Ωμέγα" >/dev/null
q=$(find "$spool/sms/mttx" -name '48600700800.*' | head -1)
check "UCS-2 hex as smsq wrote it" '[ "$(grep "^ud##" "$q")" = "$(grep "^ud##" "$SMS_TEST_DATA/smsq/48500100200.1795992928-24306")" ]'
check "dcs=8" 'grep -qx "dcs=8" "$q"'
sms-send "${conf[@]}" --from 1 --to 2 --dry-run --json --text "Привет 😀" >"$tmp/out"
check "UCS-2 JSON has no septets: $(cat "$tmp/out")" 'grep -qxF "{\"part\":1,\"parts\":1,\"dcs\":8,\"udh\":null,\"units\":9,\"text\":\"Привет 😀\"}" "$tmp/out"'
write_conf "unicode = transliterate"
sms-send "${conf[@]}" --from 1 --to 2 --dry-run --json --text "Привет 😀" >"$tmp/out"
check "transliterated: $(cat "$tmp/out")" 'grep -qxF "{\"part\":1,\"parts\":1,\"dcs\":0,\"udh\":null,\"septets\":8,\"units\":8,\"text\":\"Privet ?\"}" "$tmp/out"'

# 7. Refusals: clear error, sysexits code, nothing written.
write_conf "max_parts = 2"
before=$(find "$spool" -type f | wc -l)
refuse() { # $1 = expected code, $2 = pattern on stderr, rest = arguments
  local want=$1 pat=$2
  shift 2
  sms-send "${conf[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  check "$* exits $want (got $rc)" '[ $rc -eq $want ]'
  check "$*: stderr says '$pat': $(cat "$tmp/err")" 'grep -q "^sms-send: error: .*$pat" "$tmp/err"'
  check "$*: one line on stderr" '[ "$(wc -l <"$tmp/err")" -eq 1 ]'
}
refuse 65 "max_parts = 2" --from 1 --to 600700800 --extension PJSIP/1 --text "$(printf 'b%.0s' $(seq 307))"
refuse 65 "unknown number" --from 1 --to 999 --text hi
refuse 65 "not a number" --from 1 --to 12a --extension PJSIP/1 --text hi
refuse 65 "UTF-8" --from 1 --to 600700800 --extension PJSIP/1 --text $'bad \xc3('
refuse 65 "CR, LF\|LF" --from 1 --to 600700800 --extension $'PJSIP/1\nApplication: System' --text hi
refuse 64 "reference" --from 1 --to 600700800 --ref 300 --dry-run --text hi
check "refusals wrote nothing" '[ "$(find "$spool" -type f | wc -l)" -eq "$before" ]'

exit $fail
