#!/usr/bin/env bash
# post-sms end to end: the real binary spoken to over AGI by this script playing Asterisk (as in
# tests/data/agi), with a real SQLite directory; the files it writes read back; bad input refused.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

sqlite3 "$tmp/directory.db" <<'SQL'
CREATE TABLE PBXNumbers(Account TEXT PRIMARY KEY, Message TEXT NOT NULL, Extension TEXT NOT NULL);
INSERT INTO PBXNumbers VALUES ('48600700800', 'S', 'DAHDI/1'), ('1000', 'T', 'PJSIP/1000');
SQL
cat >"$tmp/sms.conf" <<CONF
[general]
spool_dir = $tmp/spool
[directory]
backend = sqlite
sqlite_path = $tmp/directory.db
CONF
morx=$tmp/spool/sms/morx
mkdir "$tmp/spool" # the spool root must exist; sms/morx is created

# agi VAR=VALUE... -- ARGS...: runs post-sms as Asterisk's AGI() would, answering GET VARIABLE
# from the given variables ("200 result=0" for the rest) and every other command with
# "200 result=1". Commands go to $tmp/commands, stderr to $tmp/err; sets rc.
agi() {
  declare -A vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do vars[${1%%=*}]=${1#*=}; shift; done
  shift
  local args=("$@") i=1
  : >"$tmp/commands"
  coproc POST { post-sms --config "$tmp/sms.conf" "${args[@]}" 2>"$tmp/err"; }
  local pid=$POST_PID # bash unsets POST_PID when the coprocess ends
  {
    printf 'agi_request: post-sms\nagi_channel: Message/ast_msg_queue\nagi_type: Message\n'
    printf 'agi_extension: %s\n' "${vars[EXTEN]:-}"
    for a in "${args[@]}"; do printf 'agi_arg_%d: %s\n' $i "$a"; i=$((i + 1)); done
    printf '\n'
  } >&"${POST[1]}"
  while IFS= read -r cmd <&"${POST[0]}"; do
    echo "$cmd" >>"$tmp/commands"
    if [[ $cmd == "GET VARIABLE "* ]]; then
      name=${cmd#GET VARIABLE }
      if [ -n "${vars[$name]+set}" ]; then
        printf '200 result=1 (%s)\n' "${vars[$name]}" >&"${POST[1]}"
      else
        printf '200 result=0\n' >&"${POST[1]}"
      fi
    else
      printf '200 result=1\n' >&"${POST[1]}"
    fi
  done
  wait "$pid"
  rc=$?
}
only_file() { ls -A "$morx" 2>/dev/null; }
count() { ls -A "$morx" 2>/dev/null | wc -l; }

# 1. A SIP message to an SMS phone: sender from MESSAGE_FROM, newlines to spaces, transliterated.
b64=$(printf 'Zażółć gęślą\r\njaźń\n' | base64 -w0)
agi MESSAGE_FROM='"Alice" <sip:1000@192.0.2.1:5060>' EXTEN=48600700800 MSG_B64="$b64" --
check "SIP message posted (rc $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "one file in morx" '[ "$(count)" -eq 1 ]'
f=$morx/$(only_file)
check "named <oa>.<scts>-<n>" '[[ $(basename "$f") =~ ^1000\.[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}-[0-9]+$ ]]'
check "oa=1000" 'grep -qx "oa=1000" "$f"'
check "da=48600700800" 'grep -qx "da=48600700800" "$f"'
check "text transliterated for the S phone, one line" 'grep -qx "ud=Zazolc gesla jazn" "$f"'
check "scts written" 'grep -q "^scts=" "$f"'
check "POSTSMS_STATUS OK" 'grep -qx "SET VARIABLE POSTSMS_STATUS \"OK\"" "$tmp/commands"'
check "a VERBOSE line" 'grep -q "^VERBOSE \"post-sms: message from 1000 to 48600700800" "$tmp/commands"'
check "only AGI commands on stdout" '! grep -vqE "^(GET VARIABLE|SET VARIABLE|VERBOSE) " "$tmp/commands"'
rm -f "$morx"/*

# 2. To a T subscriber: Unicode kept.
agi MESSAGE_FROM='<sip:1001@pbx>' EXTEN=1000 MSG_B64="$b64" --
check "to T posted (rc $rc)" '[ $rc -eq 0 ]'
check "Unicode kept for T" 'grep -qx "ud=Zażółć gęślą jaźń" "$morx/$(only_file)"'
rm -f "$morx"/*

# 3. AGI(post-sms,SMS): SMS_OA/SMS_DA.
agi SMS_OA=+48500100200 SMS_DA=1000 MSG_B64="$(printf hello | base64)" -- SMS
check "SMS mode posted (rc $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "SMS mode read SMS_OA" 'grep -qx "GET VARIABLE SMS_OA" "$tmp/commands"'
check "SMS mode oa" 'grep -qx "oa=+48500100200" "$morx/$(only_file)"'
rm -f "$morx"/*

# 4. MSG_B64 unset ("200 result=0"): an error, POSTSMS_STATUS ERROR, nothing written.
agi MESSAGE_FROM='<sip:1001@pbx>' EXTEN=1000 --
check "unset MSG_B64 exits 65 (got $rc)" '[ $rc -eq 65 ]'
check "unset MSG_B64 named on stderr" 'grep -q "^post-sms: error: MSG_B64" "$tmp/err"'
check "POSTSMS_STATUS ERROR" 'grep -qx "SET VARIABLE POSTSMS_STATUS \"ERROR\"" "$tmp/commands"'
check "nothing written" '[ "$(count)" -eq 0 ]'

# 5. Invalid Base64, invalid UTF-8.
agi MESSAGE_FROM='<sip:1001@pbx>' EXTEN=1000 MSG_B64='@@@' --
check "invalid Base64 exits 65 (got $rc)" '[ $rc -eq 65 ]'
agi MESSAGE_FROM='<sip:1001@pbx>' EXTEN=1000 MSG_B64="$(printf 'a\xff' | base64)" --
check "invalid UTF-8 exits 65 (got $rc)" '[ $rc -eq 65 ]'
check "invalid UTF-8 named" 'grep -q "UTF-8" "$tmp/err"'

# 6. Numbers that could form a path.
for bad in '../x' '1/2' '../../etc/cron.d/x'; do
  agi MESSAGE_FROM='<sip:1001@pbx>' EXTEN="$bad" MSG_B64="$(printf x | base64)" --
  check "destination '$bad' exits 65 (got $rc)" '[ $rc -eq 65 ]'
done
agi MESSAGE_FROM='<sip:../../x@pbx>' EXTEN=1000 MSG_B64="$(printf x | base64)" --
check "sender '../../x' exits 65 (got $rc)" '[ $rc -eq 65 ]'
check "nothing written by refused input" '[ "$(count)" -eq 0 ]'
check "nothing outside morx" '[ "$(find "$tmp/spool" -type f | wc -l)" -eq 0 ]'

# 7. Hang-up mid-way: Asterisk closes stdin after the environment.
printf 'agi_request: post-sms\nagi_channel: Message/x\n\n' |
  post-sms --config "$tmp/sms.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "hang-up exits 75 (got $rc)" '[ $rc -eq 75 ]'
check "hang-up: only the command on stdout" '[ "$(cat "$tmp/out")" = "GET VARIABLE MESSAGE_FROM" ]'
check "hang-up: nothing written" '[ "$(count)" -eq 0 ]'

# 8. CLI mode, text on stdin and with --text; usage errors.
printf 'one\ntwo\n' | post-sms --config "$tmp/sms.conf" --from 48500100200 --to 1000 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "CLI exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "CLI prints the file" '[ -f "$(cat "$tmp/out")" ]'
check "CLI text" 'grep -qx "ud=one two" "$(cat "$tmp/out")"'
post-sms --config "$tmp/sms.conf" --from 48500100200 --to '1/2' --text x >"$tmp/out" 2>"$tmp/err"
rc=$?
check "CLI bad number exits 65 (got $rc)" '[ $rc -eq 65 ]'
post-sms --config "$tmp/sms.conf" --from 48500100200 --text x >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
check "CLI --from without --to exits 64 (got $rc)" '[ $rc -eq 64 ]'

# A body over the suite's text limit: ERROR, nothing written (sms-process would not take it).
rm -rf "$morx"
b64=$(head -c 100000 /dev/zero | tr '\0' 'x' | base64 -w0)
agi MESSAGE_FROM='<sip:1000@192.0.2.1>' EXTEN=48600700800 MSG_B64="$b64" --
check "over-long body: exit 65 (got $rc)" '[ $rc -eq 65 ]'
check "over-long body: POSTSMS_STATUS ERROR" 'grep -qx "SET VARIABLE POSTSMS_STATUS \"ERROR\"" "$tmp/commands"'
check "over-long body: nothing written" '[ "$(count)" -eq 0 ]'

# A configuration it cannot read: still answers POSTSMS_STATUS (ERROR), exit 78.
cp "$tmp/sms.conf" "$tmp/sms.conf.good"
printf '[general]\nno_such_key = 1\n' >"$tmp/sms.conf"
agi MESSAGE_FROM='<sip:1000@192.0.2.1>' EXTEN=48600700800 MSG_B64="$(printf hi | base64)" --
check "unreadable configuration: exit 78 (got $rc)" '[ $rc -eq 78 ]'
check "unreadable configuration: POSTSMS_STATUS ERROR ($(tr '\n' '|' <"$tmp/commands"))" \
  'grep -qx "SET VARIABLE POSTSMS_STATUS \"ERROR\"" "$tmp/commands"'
mv "$tmp/sms.conf.good" "$tmp/sms.conf"
exit $fail
