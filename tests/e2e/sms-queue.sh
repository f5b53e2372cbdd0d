#!/usr/bin/env bash
# sms-queue end to end: a spool holding one item of every state (held parts, retry with and
# without a retry record, dead letter, quarantined file with and without NAME.why, queued SMS
# with and without a delivery call, a fax call with an attempt made); list (columns, JSON,
# filters, summary), show, list/show writing nothing; retry and delete of each kind, a file
# another run holds (75, nothing changed), unknown IDs (66); then retry and delete while
# sms-process routes, counting every message in against what came out.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
run() { out=$("$@" 2>"$tmp/err"); rc=$?; err=$(cat "$tmp/err"); }

spool=$tmp/spool
morx=$spool/sms/morx
mkdir -p "$morx/failed" "$morx/bad" "$spool/sms/mttx" "$spool/outgoing" "$spool/sms/.sms-suite/retry"
conf=$tmp/sms-suite.conf
printf '[general]\nspool_dir = %s\n[directory]\nsqlite_path = %s/directory.db\ntimeout = 2\n' \
  "$spool" "$tmp" >"$conf"
sms-directory --config "$conf" init >/dev/null
for n in 600700800 600700801 48500100200; do
  sms-directory --config "$conf" set $n --service S --channel PJSIP/$n >/dev/null
done
q() { sms-queue --config "$conf" "$@"; }
msg() { # dir name oa da text [udh]
  { echo "oa=$3"; echo "da=$4"; [ -n "${6:-}" ] && echo "udh#$6"; echo "ud=$5"; echo "scts=2026-11-30T09:00:00"; } >"$1/$2"
}
now=$(date +%s)
# held: part 1 of 2 (the oldest item of all).
msg "$morx" 48500100200.2026-11-30T09:00:00-1 48500100200 600700800 "first half " 0003AB0201
touch -d @$((now - 600)) "$morx/48500100200.2026-11-30T09:00:00-1"
# retry: one with the router's record, one without (falls back to the file's time).
msg "$morx" 48500100200.2026-11-30T09:00:00-2 48500100200 600700801 "waits for the directory"
printf 'first_failure=%s\nreason=directory unavailable: locked\n' $((now - 7200)) \
  >"$spool/sms/.sms-suite/retry/48500100200.2026-11-30T09:00:00-2"
msg "$morx" 48500100200.2026-11-30T09:00:00-3 48500100200 600700801 "just arrived"
# failed, with its reason; bad, one with a reason and one without.
msg "$morx/failed" 48500100200.2026-11-30T09:00:00-4 48500100200 600700802 "dead letter"
echo "gave up after 86401 s of temporary failures: directory unavailable" \
  >"$morx/failed/48500100200.2026-11-30T09:00:00-4.why"
printf 'this is not an SMS\n' >"$morx/bad/garbage.txt"
echo "line 1: no '=' in 'this is not an SMS'" >"$morx/bad/garbage.txt.why"
printf 'oa=1\n' >"$morx/bad/cut.txt"
# queued: one with its delivery call, one without.
sms-send --config "$conf" --from 9001 --to 600700800 --text "queued with a call" >/dev/null
sms-send --config "$conf" --from 9001 --to 600700801 --no-dial --text "queued, no call" >/dev/null
# a fax call Asterisk tried once.
callfile-gen --config "$conf" --spool "$spool" --channel DAHDI/1 --application SendFax \
  --data /tmp/x.tiff,F --callerid '"Fax" <9000>' --max-retries 3 --name fax-600700801.call >/dev/null
printf 'StartRetry: 100 1 (%s)\nEndRetry: 100 1 (%s)\n' $now $now >>"$spool/outgoing/fax-600700801.call"

snapshot() { (cd "$spool" && find . -printf '%p %s %T@ %m\n' | sort); }
before=$(snapshot)
run q
check "list exits 0 ($rc: $err)" '[ $rc -eq 0 ]'
check "list writes nothing on stderr ($err)" '[ -z "$err" ]'
echo "$out" >"$tmp/list"
states=$(awk '$1 != "--" {for (i = 1; i <= NF; i++) if ($i ~ /^(held|retry|failed|bad|queued|call)$/) {print $i; break}}' "$tmp/list" | tr '\n' ' ')
check "grouped by state in order (got: $states)" '[ "$states" = "held retry retry failed bad bad queued queued call " ]'
check "summary line ($(tail -1 "$tmp/list"))" 'tail -1 "$tmp/list" | grep -q "^-- 9 items, [0-9]* bytes: 1 held, 2 retry, 1 failed, 2 bad, 2 queued, 1 call$"'
check "held shows parts and what is missing" 'grep -q "held .*parts 1 of 2: waiting for part 2" "$tmp/list"'
check "retry shows the recorded reason" 'grep -q " 2h .*retry .*directory unavailable: locked" "$tmp/list"'
check "failed shows its .why" 'grep -q "48500100200 -> 600700802  -  failed  gave up after 86401 s" "$tmp/list"'
check "bad shows its .why" 'grep -q "bad .*no .=. in" "$tmp/list"'
check "bad without .why shows -" 'grep -qE "bad +-$" "$tmp/list"'
check "queued with its call" 'grep -q "9001 -> 600700800  S  queued  call pending" "$tmp/list"'
check "queued without a call" 'grep -q "9001 -> 600700801  S  queued  no call" "$tmp/list"'
check "fax call: attempts" 'grep -q "9000 -> 1  F  call .*1 attempt made, 3 left: SendFax /tmp/x.tiff,F on DAHDI/1" "$tmp/list"'
id_of() { grep -- "$1" "$tmp/list" | head -1 | cut -d' ' -f1; }
held=$(id_of " held ")
dead=$(id_of " failed ")
bad=$(id_of "no '=' in")
cut=$(id_of "bad +-$")
cut=$(grep -E "bad +-$" "$tmp/list" | cut -d' ' -f1)
recorded=$(id_of "directory unavailable: locked")
queued=$(id_of "no call")
check "IDs are 10 hex digits ($held $dead $bad)" '[[ $held =~ ^[0-9A-F]{10}$ && $dead =~ ^[0-9A-F]{10}$ ]]'
run q list
check "IDs are stable between listings" '[ "$(cut -d" " -f1 <<<"$out")" = "$(cut -d" " -f1 "$tmp/list")" ]'

run q --json
check "--json: 9 objects and a summary, valid JSON ($err)" 'python3 -c "
import json, sys
lines = sys.stdin.read().splitlines()
objs = [json.loads(l) for l in lines]
assert len(objs) == 10, len(objs)
assert list(objs[0]) == [\"id\",\"state\",\"files\",\"since\",\"next\",\"age\",\"size\",\"from\",\"to\",\"service\",\"detail\",\"reason\"], list(objs[0])
assert objs[-1] == {\"summary\": {\"items\": 9, \"bytes\": objs[-1][\"summary\"][\"bytes\"], \"held\": 1, \"retry\": 2, \"failed\": 1, \"bad\": 2, \"queued\": 2, \"call\": 1, \"lasthop\": 0}}, objs[-1]
held = objs[0]
assert held[\"state\"] == \"held\" and held[\"next\"] == held[\"since\"] + 3600, held
" <<<"$out"'
run q -s failed
check "-s failed ($out)" '[ "$(wc -l <<<"$out")" -eq 2 ] && grep -q "^$dead " <<<"$out" && grep -q "^-- 1 item," <<<"$out"'
run q --to 600700801
check "--to ($out)" '[ "$(grep -c " -> 600700801 " <<<"$out")" -eq 3 ] && grep -q "^-- 3 items" <<<"$out"'
run q --from 9001 -s queued
check "--from with -s ($out)" 'grep -q "^-- 2 items" <<<"$out"'
run q -s nonsense
check "-s with a bad state is a usage error ($rc)" '[ $rc -eq 64 ]'

run q show "$held"
check "show held: the text and what happens next ($rc)" '[ $rc -eq 0 ] && grep -q "^text:     first half" <<<"$out" && grep -q "^next:     routed as one" <<<"$out"'
run q show "$dead"
check "show failed: reason, text" 'grep -q "^reason:   gave up after" <<<"$out" && grep -q "^text:     dead letter" <<<"$out"'
run q show "$(id_of "F  call ")"
check "show call: the call file" 'grep -q "^Application: SendFax" <<<"$out"'
run q show 0123456789
check "show of an unknown ID exits 66 ($rc)" '[ $rc -eq 66 ]'
check "list and show wrote nothing" '[ "$(snapshot)" = "$before" ]'

# A file another run holds: 75, nothing changed.
exec 8<"$morx/failed/48500100200.2026-11-30T09:00:00-4"
flock 8 # as a running sms-process holds a message it works on
run q retry "$dead"
check "retry of a held file exits 75 ($rc: $err)" '[ $rc -eq 75 ] && grep -q "held by a running sms-process" <<<"$err"'
run q delete -y "$dead"
check "delete of a held file exits 75 ($rc)" '[ $rc -eq 75 ]'
check "nothing changed while held" '[ "$(snapshot)" = "$before" ]'
exec 8<&-

run q retry "$dead" 0123456789
check "an unknown ID among others: 66, nothing done ($rc)" '[ $rc -eq 66 ] && [ "$(snapshot)" = "$before" ]'
run q delete "$bad" </dev/null
check "delete off a terminal without -y: 64 ($rc)" '[ $rc -eq 64 ] && [ -e "$morx/bad/garbage.txt" ]'
run q retry "$queued"
check "a queued item cannot be retried ($rc)" '[ $rc -eq 65 ]'

run q retry "$dead"
check "retry of a dead letter ($rc: $out $err)" '[ $rc -eq 0 ] && [ -e "$morx/48500100200.2026-11-30T09:00:00-4" ] && [ ! -e "$morx/failed/48500100200.2026-11-30T09:00:00-4" ] && [ ! -e "$morx/failed/48500100200.2026-11-30T09:00:00-4.why" ]'
age=$(( $(date +%s) - $(stat -c %Y "$morx/48500100200.2026-11-30T09:00:00-4") ))
check "retry reset its clock (mtime $age s ago)" '[ $age -le 5 ]'
run q retry "$recorded"
check "retry of a waiting message drops its record ($rc)" '[ $rc -eq 0 ] && [ ! -e "$spool/sms/.sms-suite/retry/48500100200.2026-11-30T09:00:00-2" ]'
run q -v retry "$held"
check "retry of a held set releases it ($rc: $out)" '[ $rc -eq 0 ] && grep -q "released" <<<"$out"'
check "the action is logged with the item's ID ($err)" 'grep -q "$held: held set of 1 part(s) released" <<<"$err"'
run q delete -y "$bad" "$cut"
check "delete -y of two quarantined files ($rc)" '[ $rc -eq 0 ] && [ ! -e "$morx/bad/garbage.txt" ] && [ ! -e "$morx/bad/garbage.txt.why" ] && [ ! -e "$morx/bad/cut.txt" ]'
run q delete -y "$queued"
check "delete of a queued SMS ($rc)" '[ $rc -eq 0 ] && [ "$(ls "$spool/sms/mttx" | grep -c 600700801)" -eq 0 ]'

# The next run routes what came back, the released set as incomplete.
sms-process --config "$conf" >"$tmp/route.out" 2>"$tmp/route.err"
check "sms-process routed the retried messages ($(cat "$tmp/route.err"))" 'grep -q "routed 4, held 0" "$tmp/route.err"'
check "the released set went out as incomplete" 'grep -rl "first half" "$spool/sms/mttx" >/dev/null || grep -rq "ud##" "$spool/sms/mttx"'

# --- the last hop: an SMS app_sms took waits for its line in app_sms's log ---
rm -rf "$spool"; mkdir -p "$morx" "$spool/sms/mttx" "$spool/outgoing"
sms-send --config "$conf" --from 9001 --to 600700800 --text "taken, unconfirmed" >/dev/null
sms-send --config "$conf" --from 9001 --to 600700801 --text "still queued" >/dev/null
run q
check "a queued SMS is listed once, as queued ($out)" '[ "$(grep -c "still queued\|600700801" <<<"$out")" -eq 1 ] && ! grep -q "600700801 .* lasthop" <<<"$out"'
rm "$spool"/sms/mttx/600700800.* # app_sms read it
run q --json -s lasthop
check "a taken SMS is listed as lasthop until app_sms's log confirms it ($out)" 'python3 -c "
import json, sys
objs = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert len(objs) == 2, objs
o = objs[0]
assert o[\"state\"] == \"lasthop\" and o[\"from\"] == \"9001\" and o[\"to\"] == \"600700800\", o
assert o[\"service\"] == \"S\" and \"taken by app_sms\" in o[\"reason\"], o
assert o[\"detail\"].startswith(\"attempt 1 of 5, mr \"), o
assert objs[1][\"summary\"][\"lasthop\"] == 1, objs[1]
" <<<"$out"'
run q show "$(q -s lasthop | head -1 | cut -d' ' -f1)"
check "show of a lasthop item ($rc)" '[ $rc -eq 0 ] && grep -q "lasthop" <<<"$out"'
# Deleted, each with every trace: not sent again by any later run, shown nowhere.
run q delete -y "$(q -s lasthop | head -1 | cut -d' ' -f1)"
check "delete of a taken SMS ($rc: $err)" '[ $rc -eq 0 ] && ! ls "$spool/sms/.sms-suite/lasthop" | grep -q "^S\.600700800"'
run q delete -y "$(q -s queued | head -1 | cut -d' ' -f1)"
check "delete of a queued SMS removes its last-hop item ($rc: $err)" '[ $rc -eq 0 ] && ! ls "$spool/sms/.sms-suite/lasthop" | grep -q "^S\."'
sms-process --config "$conf" >/dev/null 2>&1
run q
check "deleted SMS shown nowhere, nothing queued again ($out)" '! grep -q "60070080[01]" <<<"$out" && [ -z "$(ls "$spool/sms/mttx")" ]'

# --- retry and delete while sms-process routes: nothing lost, nothing twice ---
rm -rf "$spool"; mkdir -p "$morx/failed" "$spool/sms/mttx" "$spool/outgoing"
n=150 dead_n=20
for i in $(seq 1 $n); do
  msg "$morx" 48500100200.2026-11-30T09:00:00-$i 48500100200 600700800 "message $i"
done
for i in $(seq 1 $dead_n); do
  msg "$morx/failed" 48500100200.2026-11-30T09:00:00-d$i 48500100200 600700801 "dead $i"
  echo "gave up" >"$morx/failed/48500100200.2026-11-30T09:00:00-d$i.why"
done
sms-queue --config "$conf" -s retry | head -n -1 | cut -d' ' -f1 | shuf -n 40 --random-source=<(yes) >"$tmp/victims"
sms-process --config "$conf" >/dev/null 2>"$tmp/route.err" &
router=$!
sms-queue --config "$conf" retry --failed >"$tmp/retried" 2>"$tmp/retry.err"
retry_rc=$?
deleted=0 refused=0
while read -r id; do
  if out=$(sms-queue --config "$conf" delete -y "$id" 2>&1); then
    deleted=$((deleted + 1))
  else
    refused=$((refused + 1)) # 75 (held by the run) or 66 (routed meanwhile)
  fi
done <"$tmp/victims"
wait $router
sms-process --config "$conf" >/dev/null 2>>"$tmp/route.err" # what came back after the first run's listing
check "retry --failed while routing: every dead letter back ($retry_rc: $(cat "$tmp/retry.err"))" '[ $retry_rc -eq 0 ] && [ "$(grep -c "back to sms/morx" "$tmp/retried")" -eq $dead_n ]'
left=$(find "$morx" -maxdepth 1 -type f | wc -l)
check "morx emptied ($left left)" '[ $left -eq 0 ]'
out_msgs=$(cat "$spool"/sms/mttx/* | grep -c "^ud##")
dups=$(cat "$spool"/sms/mttx/* | grep "^ud##" | sort | uniq -d | wc -l)
check "in $((n + dead_n)) = out $out_msgs + deleted $deleted (refused $refused)" '[ $((out_msgs + deleted)) -eq $((n + dead_n)) ]'
check "no message twice ($dups)" '[ $dups -eq 0 ]'
echo "while routing: $dead_n retried, $deleted deleted, $refused refused (held or routed)"
exit $fail
