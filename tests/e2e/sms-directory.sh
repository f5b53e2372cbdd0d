#!/usr/bin/env bash
# sms-directory end to end on SQLite and on a real, throwaway MariaDB server
# (scripts/mariadb-test-server.sh): init, set/get/list/remove, the router's rules on every value,
# CSV import (a bad row in the middle writes nothing; --dry-run; --replace), export round trip,
# and `set` while sms-process routes (every message routed once, every set applied).
# Fails, never skips, when mariadbd cannot be started: CI runs this every time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${SMS_SOURCE_DIR:-$here/../..}
server=$src/scripts/mariadb-test-server.sh
tmp=$(mktemp -d)
trap '"$server" stop "$tmp/db" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
run() { out=$("$@" 2>"$tmp/err"); rc=$?; err=$(cat "$tmp/err"); }

sqlite_conf=$tmp/sqlite.conf
printf '[general]\nspool_dir = %s/spool\n[directory]\nsqlite_path = %s/dir/directory.db\ntimeout = 3\n' \
  "$tmp" "$tmp" >"$sqlite_conf"
mkdir -p "$tmp/dir" "$tmp/db"

started=$("$server" start "$tmp/db") || { echo "FAIL: cannot start MariaDB: $started"; exit 1; }
socket=$(sed -n 's/^socket=//p' <<<"$started")
echo "CREATE DATABASE sms;" | "$server" client "$tmp/db" >"$tmp/sql.log" 2>&1 ||
  { echo "FAIL: creating the database: $(cat "$tmp/sql.log")"; exit 1; }
mysql_conf=$tmp/mysql.conf
printf '[general]\nspool_dir = %s/spool\n[directory]\nbackend = mysql\nsocket = %s\nuser = root\ndatabase = sms\ntimeout = 3\n' \
  "$tmp" "$socket" >"$mysql_conf"

for backend in sqlite mysql; do
  conf=$tmp/$backend.conf
  d() { sms-directory --config "$conf" "$@"; }
  b=$backend

  # Before init: the SQLite file is not created by anything but init.
  run d list
  check "$b: list before init fails 69 (got $rc: $err)" '[ $rc -eq 69 ]'
  [ $b = sqlite ] && check "$b: list created no file" '[ ! -e "$tmp/dir/directory.db" ]'

  run d init
  check "$b: init exits 0 ($rc: $err)" '[ $rc -eq 0 ]'
  check "$b: init says created ($out)" 'grep -q "^created table PBXNumbers" <<<"$out"'
  run d init
  check "$b: second init exits 0 ($rc: $err)" '[ $rc -eq 0 ]'
  check "$b: second init leaves it ($out)" 'grep -q "already there" <<<"$out"'

  run d set 600700800 --service S --channel PJSIP/600700800
  check "$b: set adds ($rc: $out $err)" '[ $rc -eq 0 ] && [ "$out" = "600700800: added (S PJSIP/600700800)" ]'
  run d set 600700801 --service f --channel ' DAHDI/1 '
  check "$b: set normalises ($rc: $out $err)" '[ $rc -eq 0 ] && [ "$out" = "600700801: added (F DAHDI/1)" ]'
  run d set 1000 --service C
  check "$b: C needs no channel ($rc: $err)" '[ $rc -eq 0 ]'
  run d set 600700800 --service V
  check "$b: service change keeps the channel ($out)" '[ "$out" = "600700800: changed (V PJSIP/600700800, was S PJSIP/600700800)" ]'
  run d get 600700800
  check "$b: get ($rc: $out)" '[ $rc -eq 0 ] && [ "$out" = "V PJSIP/600700800" ]'
  run getchaninfo --config "$conf" 600700801
  check "$b: the router's lookup reads what set wrote ($out $err)" '[ "$out" = "F DAHDI/1" ]'

  # The router's rules, each refused with 65 and nothing written.
  while IFS='|' read -r number service channel field; do
    run d set "$number" --service "$service" --channel "$channel"
    check "$b: set '$number' '$service' '$channel' exits 65 (got $rc: $err)" '[ $rc -eq 65 ]'
    check "$b: set '$number' names $field ($err)" 'grep -q "$field" <<<"$err"'
  done <<'EOF'
600700802|X|PJSIP/1|service
600700802|SS|PJSIP/1|service
600700802|S|DAHDI1|channel
600700802|S||channel
600700802|S|PJSIP/1,PJSIP/2|channel
600700802|S|PJSIP/1&DAHDI/2|channel
600700802|S|/1|channel
12a4|S|PJSIP/1|number
+|S|PJSIP/1|number
123456789012345678901|S|PJSIP/1|number
EOF
  run d set 600700802 --service S --channel $'PJSIP/1\nChannel: DAHDI/9'
  check "$b: a newline in a channel exits 65 ($rc)" '[ $rc -eq 65 ]'
  run d get 600700802
  check "$b: nothing of the refused sets was written ($rc: $out)" '[ $rc -eq 1 ] && [ -z "$out" ]'
  run d set 600700802 --channel PJSIP/1
  check "$b: set without --service is a usage error ($rc)" '[ $rc -eq 64 ]'
  run d list --replace
  check "$b: an option of another command is a usage error ($rc)" '[ $rc -eq 64 ]'
  run d frobnicate
  check "$b: unknown command 64 ($rc)" '[ $rc -eq 64 ]'

  run d list
  check "$b: list ($out)" '[ "$out" = "$(printf "1000      C \n600700800 V PJSIP/600700800\n600700801 F DAHDI/1")" ]'
  run d list --service f --json
  check "$b: list --service --json ($out)" "[ '$(printf '%s' '{"number":"600700801","service":"F","channel":"DAHDI/1"}')' = \"\$out\" ]"

  # CSV import: a bad row in the middle: 65 naming line and field, nothing written.
  printf 'number,service,channel\n700000001,S,PJSIP/700000001\n700000002,Q,PJSIP/700000002\n700000003,S,PJSIP/700000003\n' >"$tmp/bad.csv"
  run d export
  before=$out
  run d import "$tmp/bad.csv"
  check "$b: bad CSV exits 65 ($rc: $err)" '[ $rc -eq 65 ]'
  check "$b: bad CSV names line 3 and the field ($err)" 'grep -q "bad.csv: line 3: service:" <<<"$err"'
  run d export
  check "$b: bad CSV wrote nothing" '[ "$out" = "$before" ]'
  printf 'number,service,channel\n700000001,S,PJSIP/1\n"700000001",s,PJSIP/1\n' >"$tmp/dup.csv"
  run d import "$tmp/dup.csv"
  check "$b: a number twice exits 65 ($rc: $err)" '[ $rc -eq 65 ] && grep -q "given twice" <<<"$err"'
  printf 'num,svc\n1,S\n' >"$tmp/nohdr.csv"
  run d import "$tmp/nohdr.csv"
  check "$b: no header exits 65 ($rc: $err)" '[ $rc -eq 65 ] && grep -q "header" <<<"$err"'
  run d import "$tmp/no-such.csv"
  check "$b: missing file exits 66 ($rc: $err)" '[ $rc -eq 66 ]'

  printf 'number,service,channel\r\n600700800,S,PJSIP/600700800\r\n\r\n"700000001","T",""\r\n700000002,N,\r\n' >"$tmp/good.csv"
  run d import "$tmp/good.csv" --dry-run
  check "$b: dry run ($rc: $out)" '[ $rc -eq 0 ] && [ "$out" = "dry run, nothing written: 3 rows: 2 added, 1 changed, 0 unchanged, 0 removed" ]'
  run d export
  check "$b: dry run wrote nothing" '[ "$out" = "$before" ]'
  run d import "$tmp/good.csv"
  check "$b: import ($rc: $out $err)" '[ $rc -eq 0 ] && [ "$out" = "imported: 3 rows: 2 added, 1 changed, 0 unchanged, 0 removed" ]'
  run d get 600700800
  check "$b: import changed a row ($out)" '[ "$out" = "S PJSIP/600700800" ]'
  run d get 600700801
  check "$b: import kept rows not in the file ($out)" '[ "$out" = "F DAHDI/1" ]'

  run d export
  echo "$out" >"$tmp/$b.csv"
  check "$b: export ($out)" '[ "$(head -1 <<<"$out")" = "number,service,channel" ] && [ "$(wc -l <<<"$out")" -eq 6 ]'
  run d import - --replace <"$tmp/good.csv"
  check "$b: import --replace from stdin ($rc: $out $err)" '[ $rc -eq 0 ] && [ "$out" = "imported: 3 rows: 0 added, 0 changed, 3 unchanged, 2 removed" ]'
  run d get 600700801
  check "$b: --replace removed the others ($rc)" '[ $rc -eq 1 ]'
  run d import "$tmp/$b.csv" --replace
  run d export
  check "$b: export, import round trip" '[ "$out" = "$(cat "$tmp/$b.csv")" ]'

  run d remove 1000
  check "$b: remove ($rc: $out)" '[ $rc -eq 0 ] && [ "$out" = "1000: removed" ]'
  run d remove 1000
  check "$b: remove again exits 1 ($rc)" '[ $rc -eq 1 ]'
done

# init refuses a table of another shape and leaves it as it is.
sqlite3 "$tmp/dir/other.db" "CREATE TABLE PBXNumbers (num TEXT, svc TEXT); INSERT INTO PBXNumbers VALUES ('1','S');"
sed "s|directory.db|other.db|" "$sqlite_conf" >"$tmp/other.conf"
run sms-directory --config "$tmp/other.conf" init
check "init on another shape exits 73 ($rc: $err)" '[ $rc -eq 73 ] && grep -q "other columns (num, svc)" <<<"$err"'
check "init left the table alone" '[ "$(sqlite3 "$tmp/dir/other.db" "SELECT count(*) FROM PBXNumbers")" = 1 ]'
echo "CREATE TABLE sms.Other (a INT);" | "$server" client "$tmp/db" >/dev/null 2>&1
printf 'table = Other\n' >>"$mysql_conf"
run sms-directory --config "$mysql_conf" init
check "mysql: init on another shape exits 73 ($rc: $err)" '[ $rc -eq 73 ]'
sed -i '$d' "$mysql_conf"

# A bad row written behind sms-directory's back: list shows it, marked, the router refuses it.
sqlite3 "$tmp/dir/directory.db" "INSERT INTO PBXNumbers VALUES ('555', 'X', 'DAHDI1');"
run sms-directory --config "$sqlite_conf" list
check "list marks a bad row ($out)" 'grep -q "^555 .*X DAHDI1   <- bad: service" <<<"$out"'
run getchaninfo --config "$sqlite_conf" 555
check "the router refuses the same row ($rc: $err)" '[ $rc -eq 69 ]'
sqlite3 "$tmp/dir/directory.db" "UPDATE PBXNumbers SET Message = 'S' WHERE Account = '555';"
run getchaninfo --config "$sqlite_conf" 555
check "the router refuses a channel sms-directory refuses ($rc: $err)" '[ $rc -eq 69 ] && grep -q "TECH/resource" <<<"$err"'
run sms-directory --config "$sqlite_conf" remove 555

# set while sms-process routes: every message routed exactly once, every set applied.
for backend in sqlite mysql; do
  conf=$tmp/$backend.conf
  spool=$tmp/spool
  rm -rf "$spool"; mkdir -p "$spool/sms/morx"
  for p in 0 1 2 3 4 5 6 7 8 9; do
    sms-directory --config "$conf" set 60070090$p --service S --channel PJSIP/60070090$p >/dev/null
  done
  n=120
  for i in $(seq 1 $n); do
    printf 'oa=600700800\nda=60070090%d\nscts=2026-11-29T22:53:00\nud=message %d\n' $((i % 10)) "$i" \
      >"$spool/sms/morx/600700800.2026-11-29T22:53:00-$i"
  done
  sms-process --config "$conf" >"$tmp/route.out" 2>"$tmp/route.err" &
  router=$!
  sets=0 set_fail=0
  while kill -0 $router 2>/dev/null || [ $sets -lt 10 ]; do
    p=$((sets % 10))
    sms-directory --config "$conf" set 60070090$p --service S --channel DAHDI/$sets >/dev/null 2>>"$tmp/set.err" ||
      set_fail=$((set_fail + 1))
    sets=$((sets + 1))
  done
  wait $router
  rrc=$?
  check "$backend concurrent: sms-process exits 0 ($rrc: $(tail -2 "$tmp/route.err"))" '[ $rrc -eq 0 ]'
  check "$backend concurrent: every set succeeded ($set_fail of $sets failed: $(tail -2 "$tmp/set.err" 2>/dev/null))" '[ $set_fail -eq 0 ]'
  left=$(find "$spool/sms/morx" -maxdepth 1 -type f | wc -l)
  check "$backend concurrent: morx emptied ($left left)" '[ $left -eq 0 ]'
  queued=$(find "$spool/sms/mttx" -maxdepth 1 -type f ! -name '.*' | wc -l)
  texts=$(cat "$spool"/sms/mttx/* 2>/dev/null | grep -c '^ud##')
  check "$backend concurrent: $n messages in, $queued queue files out" '[ $queued -eq $n ] && [ $texts -eq $n ]'
  last=$((sets - 1))
  run sms-directory --config "$conf" get 60070090$((last % 10))
  check "$backend concurrent: the last set is there ($out)" '[ "$out" = "S DAHDI/$last" ]'
  echo "$backend: $sets sets while routing $n messages"
done
exit $fail
