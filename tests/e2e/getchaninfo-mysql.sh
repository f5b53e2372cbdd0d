#!/usr/bin/env bash
# getchaninfo on a real, throwaway MariaDB server (scripts/mariadb-test-server.sh): shell and AGI
# mode over the socket and over TCP with a password, then with the server stopped (69, N).
# Fails, never skips, when mariadbd cannot be started: CI runs this every time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${SMS_SOURCE_DIR:-$here/../..}
server=$src/scripts/mariadb-test-server.sh
source "$here/getchaninfo-fake-asterisk.sh"
tmp=$(mktemp -d)
trap '"$server" stop "$tmp" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

started=$("$server" start "$tmp") || { echo "FAIL: cannot start MariaDB: $started"; exit 1; }
socket=$(sed -n 's/^socket=//p' <<<"$started")
port=$(sed -n 's/^port=//p' <<<"$started")
{
  echo "CREATE DATABASE sms; USE sms;"
  cat "$src/examples/schema-mysql.sql" "$src/examples/directory-sample.sql"
  # The directory's own account: SELECT on the one table, nothing else.
  echo "CREATE USER 'sms'@'localhost' IDENTIFIED BY 'Pa55-word';"
  echo "CREATE USER 'sms'@'127.0.0.1' IDENTIFIED BY 'Pa55-word';"
  echo "GRANT SELECT ON sms.PBXNumbers TO 'sms'@'localhost';"
  echo "GRANT SELECT ON sms.PBXNumbers TO 'sms'@'127.0.0.1';"
} | "$server" client "$tmp" >"$tmp/sql.log" 2>&1 || { echo "FAIL: loading the schema: $(cat "$tmp/sql.log")"; exit 1; }

# Over the socket as root (no password); over TCP as the read-only account, whose password puts
# the file under the readable-by-owner-only rule.
sock_conf=$tmp/socket.conf
printf '[directory]\nbackend = mysql\nsocket = %s\nuser = root\ndatabase = sms\ntimeout = 2\n' \
  "$socket" >"$sock_conf"
tcp_conf=$tmp/tcp.conf
printf '[directory]\nbackend = mysql\nhost = 127.0.0.1\nport = %s\nuser = sms\npassword = %s\ndatabase = sms\ntimeout = 2\n' \
  "$port" 'Pa55-word' >"$tcp_conf"
chmod 600 "$tcp_conf"

for conf in "$sock_conf" "$tcp_conf"; do
  name=$(basename "$conf" .conf)
  while read -r number want; do
    out=$(getchaninfo --config "$conf" "$number" 2>"$tmp/err")
    rc=$?
    check "$name $number: exit 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
    check "$name $number: prints '$want' (got '$out')" '[ "$out" = "$want" ]'
  done <<'EOF'
600700800 S PJSIP/600700800
600700801 F DAHDI/1
600700802 V PJSIP/600700802
1000 C PJSIP/1000
600700803 T PJSIP/600700803
600700804 N PJSIP/600700804
EOF
  out=$(getchaninfo --config "$conf" 999 2>"$tmp/err")
  rc=$?
  check "$name unknown 999: exit 1 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 1 ]'
  check "$name unknown 999: prints U (got '$out')" '[ "$out" = U ]'
  # SQL metacharacters never reach the server: not a number, bad input (65).
  for number in "1' OR '1'='1" "600700800' -- " '600700800" OR ""="'; do
    out=$(getchaninfo --config "$conf" "$number" 2>"$tmp/err")
    rc=$?
    check "$name not a number '$number': exit 65 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 65 ]'
    check "$name not a number '$number': prints nothing (got '$out')" '[ -z "$out" ]'
  done

  AGI_VARS=([EXTEN]=600700803)
  agi_run "$tmp" getchaninfo --config "$conf" --agi
  check "$name agi: MSG_CHAN_OPT=T (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = T ]'
  check "$name agi: MSG_CHAN=PJSIP/600700803" '[ "${AGI_SET[MSG_CHAN]:-}" = PJSIP/600700803 ]'
  AGI_VARS=([EXTEN]=12345)
  agi_run "$tmp" getchaninfo --config "$conf" --agi
  check "$name agi unknown: MSG_CHAN_OPT=U (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = U ]'
done

# A wrong password: the server refuses us, an outage (69), not "unknown".
sed 's/^password = .*/password = wrong/' "$tcp_conf" >"$tmp/wrong.conf"
chmod 600 "$tmp/wrong.conf"
out=$(getchaninfo --config "$tmp/wrong.conf" 1000 2>"$tmp/err")
rc=$?
check "wrong password: exit 69 (got $rc)" '[ $rc -eq 69 ]'
check "wrong password: says access denied ($(cat "$tmp/err"))" 'grep -q "Access denied" "$tmp/err"'
check "wrong password: nothing on stdout" '[ -z "$out" ]'

# The server stopped: 69 from the shell, N through AGI.
"$server" stop "$tmp"
out=$(getchaninfo --config "$sock_conf" 1000 2>"$tmp/err")
rc=$?
check "server stopped: exit 69 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 69 ]'
check "server stopped: nothing on stdout" '[ -z "$out" ]'
check "server stopped: error line ($(cat "$tmp/err"))" 'grep -q "^getchaninfo: error: directory: MySQL" "$tmp/err"'
out=$(getchaninfo --config "$tcp_conf" 1000 2>"$tmp/err")
rc=$?
check "server stopped, TCP: exit 69 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 69 ]'
AGI_VARS=([EXTEN]=1000)
agi_run "$tmp" getchaninfo --config "$sock_conf" --agi
check "server stopped, agi: MSG_CHAN_OPT=X (got '${AGI_SET[MSG_CHAN_OPT]:-}')" '[ "${AGI_SET[MSG_CHAN_OPT]:-}" = X ]'
check "server stopped, agi: exit 0" '[ "$(cat "$tmp/rc")" = 0 ]'

exit $fail
