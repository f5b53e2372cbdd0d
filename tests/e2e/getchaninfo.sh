#!/usr/bin/env bash
# getchaninfo on the SQLite directory: shell mode (output, exit 0/1/64/69/75/78) and AGI mode
# through pipes (MSG_CHAN_OPT letter/U/N, MSG_CHAN, hang-up in the middle, nothing but protocol
# on stdout).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${SMS_SOURCE_DIR:-$here/../..}
source "$here/getchaninfo-fake-asterisk.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

db=$tmp/directory.db
sqlite3 "$db" <"$src/examples/schema-sqlite.sql" && sqlite3 "$db" <"$src/examples/directory-sample.sql" ||
  { echo "FAIL: cannot load the example schema and sample"; exit 1; }
conf=$tmp/sms-suite.conf
printf '[directory]\nbackend = sqlite\nsqlite_path = %s\ntimeout = 1\n' "$db" >"$conf"

# run NUMBER...: stdout, stderr and exit status of the shell mode
run() {
  getchaninfo --config "$conf" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

# --- shell mode ---
version=$(getchaninfo --version)
check "--version names SQLite and libmariadb ($version)" \
  'grep -q "SQLite 3\.[0-9]*\.[0-9]*" <<<"$version" && grep -q "libmariadb [0-9]" <<<"$version"'

while read -r number want; do
  run "$number"
  check "$number: exit 0 (got $rc, $err)" '[ $rc -eq 0 ]'
  check "$number: prints '$want' (got '$out')" '[ "$out" = "$want" ]'
  check "$number: nothing on stderr ($err)" '[ -z "$err" ]'
done <<'EOF'
600700800 S PJSIP/600700800
600700801 F DAHDI/1
600700802 V PJSIP/600700802
1000 C PJSIP/1000
600700803 T PJSIP/600700803
600700804 N PJSIP/600700804
EOF

run 999
check "unknown 999: exit 1 (got $rc)" '[ $rc -eq 1 ]'
check "unknown 999: prints U (got '$out')" '[ "$out" = U ]'
# Not a number at all: bad input (65), not an unknown number; the error is one line.
for number in "1' OR '1'='1" "600700800' --" "%" "' OR 1=1 --" $'12\r\n\e[2J'; do
  run "$number"
  check "not a number '$number': exit 65 (got $rc)" '[ $rc -eq 65 ]'
  check "not a number '$number': nothing on stdout (got '$out')" '[ -z "$out" ]'
  check "not a number '$number': one line on stderr, no raw CR or ESC ($err)" \
    '[ "$(wc -l <"$tmp/err")" -eq 1 ] && ! grep -q $'"'"'\r'"'"' "$tmp/err" && ! grep -q $'"'"'\e'"'"' "$tmp/err"'
done
check "the directory survived the metacharacters" \
  '[ "$(sqlite3 "$db" "select count(*) from PBXNumbers")" = 8 ]'

run
check "no NUMBER: exit 64 (got $rc)" '[ $rc -eq 64 ]'

# A missing file is an outage (69), never "unknown", and is not created.
printf '[directory]\nsqlite_path = %s/none.db\n' "$tmp" >"$tmp/missing.conf"
getchaninfo --config "$tmp/missing.conf" 600700800 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "missing database: exit 69 (got $rc)" '[ $rc -eq 69 ]'
check "missing database: nothing on stdout" '[ ! -s "$tmp/out" ]'
check "missing database: error names the file ($(cat "$tmp/err"))" \
  'grep -q "^getchaninfo: error: directory: $tmp/none.db" "$tmp/err"'
check "missing database: not created" '[ ! -e "$tmp/none.db" ]'

# Another process holding the write lock past the timeout: a temporary failure (75).
# Bash unsets LOCK and LOCK_PID as soon as the coprocess ends (sqlite3 failing early, or the
# .quit below), so its pid and pipes are kept in variables of their own.
coproc LOCK { sqlite3 "$db"; }
lock_pid=$LOCK_PID
exec {lock_in}>&"${LOCK[1]}" {lock_out}<&"${LOCK[0]}"
printf "BEGIN EXCLUSIVE;\nUPDATE PBXNumbers SET Extension = 'DAHDI/9' WHERE Account = '1000';\nSELECT 'locked';\n" >&"$lock_in"
IFS= read -r -t 60 ready <&"$lock_out"
check "sqlite3 took the lock" '[ "${ready:-}" = locked ]'
run 1000
check "locked database: exit 75 (got $rc: $err)" '[ $rc -eq 75 ]'
check "locked database: nothing on stdout" '[ -z "$out" ]'
printf 'COMMIT;\n.quit\n' >&"$lock_in"
exec {lock_in}>&- {lock_out}<&-
wait "$lock_pid" 2>/dev/null
lock_rc=$?
check "sqlite3 committed and quit (exit $lock_rc)" '[ $lock_rc -eq 0 ]'
run 1000
check "after the lock: the new channel (got '$out')" '[ "$out" = "C DAHDI/9" ]'

# Other table and column names; a name that is not an identifier is a configuration error.
sqlite3 "$db" "CREATE TABLE Subscribers (num TEXT PRIMARY KEY, svc TEXT, chan TEXT);
  INSERT INTO Subscribers VALUES ('5551234', 'v', 'SIP/trunk/5551234');"
printf '[directory]\nsqlite_path = %s\ntable = Subscribers\naccount_column = num\nservice_column = svc\nextension_column = chan\n' \
  "$db" >"$tmp/other.conf"
getchaninfo --config "$tmp/other.conf" 5551234 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "other names: exit 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "other names: V SIP/trunk/5551234 (got '$(cat "$tmp/out")')" \
  '[ "$(cat "$tmp/out")" = "V SIP/trunk/5551234" ]'
printf '[directory]\nsqlite_path = %s\ntable = PBX-Numbers\n' "$db" >"$tmp/bad.conf"
getchaninfo --config "$tmp/bad.conf" 1000 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "bad table name: exit 78 (got $rc)" '[ $rc -eq 78 ]'
check "bad table name: error names the table key ($(cat "$tmp/err"))" \
  'grep -q "^getchaninfo: error: .*table" "$tmp/err"'

# --- AGI mode ---
agi_check_protocol() { # every line on stdout is an AGI command
  check "$1: only AGI commands on stdout: $(grep -vE '^(GET VARIABLE|SET VARIABLE|VERBOSE) ' "$tmp/commands" | head -3)" \
    '! grep -qvE "^(GET VARIABLE|SET VARIABLE|VERBOSE) " "$tmp/commands"'
}

AGI_VARS=([EXTEN]=600700800)
agi_run "$tmp" getchaninfo --config "$conf" --agi
check "agi found: exit 0 (got $(cat "$tmp/rc"))" '[ "$(cat "$tmp/rc")" = 0 ]'
check "agi found: MSG_CHAN_OPT=S (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = S ]'
check "agi found: MSG_CHAN=PJSIP/600700800 (got '${AGI_SET[MSG_CHAN]:-}')" \
  '[ "${AGI_SET[MSG_CHAN]:-}" = PJSIP/600700800 ]'
check "agi found: the exact dialogue ($(tr '\n' '|' <"$tmp/commands"))" \
  '[ "$(cat "$tmp/commands")" = "GET VARIABLE EXTEN
SET VARIABLE MSG_CHAN_OPT \"S\"
SET VARIABLE MSG_CHAN \"PJSIP/600700800\"" ]'

AGI_VARS=([EXTEN]=s [SMS_DA]=600700801)
agi_run "$tmp" getchaninfo --config "$conf" --agi SMS_DA
check "agi named variable: reads SMS_DA" 'grep -qx "GET VARIABLE SMS_DA" "$tmp/commands"'
check "agi named variable: MSG_CHAN_OPT=F (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = F ]'
check "agi named variable: MSG_CHAN=DAHDI/1" '[ "${AGI_SET[MSG_CHAN]:-}" = DAHDI/1 ]'

AGI_VARS=([EXTEN]="1' OR '1'='1")
agi_run "$tmp" getchaninfo --config "$conf" --agi
check "agi unknown: MSG_CHAN_OPT=U (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = U ]'
check "agi unknown: MSG_CHAN empty" '[ -z "${AGI_SET[MSG_CHAN]-x}" ]'
check "agi unknown: exit 0" '[ "$(cat "$tmp/rc")" = 0 ]'
agi_check_protocol "agi unknown"

AGI_VARS=([EXTEN]=600700800)
agi_run "$tmp" getchaninfo --config "$tmp/missing.conf" --agi
check "agi unavailable: MSG_CHAN_OPT=X (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = X ]'
check "agi unavailable: tells the console" 'grep -q "^VERBOSE \"getchaninfo: directory unavailable" "$tmp/commands"'
agi_check_protocol "agi unavailable"

AGI_VARS=()
agi_run "$tmp" getchaninfo --config "$conf" --agi NO_SUCH_VAR
check "agi unset variable: MSG_CHAN_OPT=X (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = X ]'

AGI_VARS=([EXTEN]=600700800)
agi_run "$tmp" getchaninfo --config "$tmp/bad.conf" --agi
check "agi bad configuration: MSG_CHAN_OPT=X (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = X ]'
check "agi bad configuration: error on stderr" 'grep -q "^getchaninfo: error: .*table" "$tmp/stderr"'
agi_check_protocol "agi bad configuration"

# The channel hangs up while getchaninfo asks for the number: it ends quietly, sets nothing.
AGI_VARS=([EXTEN]=600700800)
AGI_HANGUP_AT=1
agi_run "$tmp" getchaninfo --config "$conf" --agi
AGI_HANGUP_AT=0
check "agi hang-up: exit 0 (got $(cat "$tmp/rc"))" '[ "$(cat "$tmp/rc")" = 0 ]'
check "agi hang-up: one command only ($(tr '\n' '|' <"$tmp/commands"))" \
  '[ "$(cat "$tmp/commands")" = "GET VARIABLE EXTEN" ]'
check "agi hang-up: nothing set" '[ ${#AGI_SET[@]} -eq 0 ]'

# ... or after the answer, before MSG_CHAN.
AGI_HANGUP_AT=2
agi_run "$tmp" getchaninfo --config "$conf" --agi
AGI_HANGUP_AT=0
check "agi late hang-up: exit 0 (got $(cat "$tmp/rc"))" '[ "$(cat "$tmp/rc")" = 0 ]'
check "agi late hang-up: stopped there" '[ "$(wc -l <"$tmp/commands")" -eq 2 ]'

# Asterisk gone before the environment ended (EOF): exit 0, nothing written.
printf 'agi_request: getchaninfo\n' | getchaninfo --config "$conf" --agi >"$tmp/out" 2>"$tmp/err"
rc=$?
check "agi EOF: exit 0 (got $rc)" '[ $rc -eq 0 ]'
check "agi EOF: nothing on stdout" '[ ! -s "$tmp/out" ]'

exit $fail
