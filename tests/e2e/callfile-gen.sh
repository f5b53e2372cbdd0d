#!/usr/bin/env bash
# callfile-gen end to end: the file pbx_spool reads, printed or queued atomically, scheduled by
# modification time, and values that would inject call-file lines refused.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
: >"$tmp/empty.conf" # callfile-gen needs no settings: an empty file keeps it hermetic
export SMS_SUITE_CONF=$tmp/empty.conf
spool=$tmp/spool
mkdir "$spool" # the spool root must exist; what is under it is created

# 1. --stdout: the file, line by line, as pbx_spool archived it (fixtures/callfiles).
callfile-gen --channel Local/1001@callfile-test --callerid '"Future" <555001>' --max-retries 0 \
  --wait-time 10 --archive --application Wait --data 2 --stdout >"$tmp/out" 2>"$tmp/err"
rc=$?
check "--stdout exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
sed '/^$/,$d' "$SMS_TEST_DATA/callfiles/cf-future.call.done" >"$tmp/want"
check "same lines as the fixture: $(diff "$tmp/want" "$tmp/out" | head -4)" 'cmp -s "$tmp/want" "$tmp/out"'

callfile-gen --channel DAHDI/1 --context sms --extension s --priority 2 --setvar A=1 \
  --setvar 'B=x;y' --no-archive --stdout >"$tmp/out"
printf 'Channel: DAHDI/1\nArchive: no\nContext: sms\nExtension: s\nPriority: 2\nSetVar: A=1\nSetVar: B=x\\;y\n' >"$tmp/want"
check "context form, SetVar, ';' escaped: $(diff "$tmp/want" "$tmp/out" | head -4)" 'cmp -s "$tmp/want" "$tmp/out"'

# 2. Queued: renamed into outgoing/ from <spool>/tmp, path printed, nothing left behind.
callfile-gen --spool "$spool" --channel PJSIP/1000 --application Playback --data hello-world \
  --name hello.call >"$tmp/out" 2>"$tmp/err"
rc=$?
check "queue exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "prints the path" '[ "$(cat "$tmp/out")" = "$spool/outgoing/hello.call" ]'
check "content" 'grep -qx "Application: Playback" "$spool/outgoing/hello.call" && grep -qx "Data: hello-world" "$spool/outgoing/hello.call"'
check "tmp/ empty" '[ -z "$(ls -A "$spool/tmp")" ]'
check "mtime not in the future" '[ "$(stat -c %Y "$spool/outgoing/hello.call")" -le "$(date +%s)" ]'

callfile-gen --spool "$spool" --channel PJSIP/1000 --application Wait --name hello.call >/dev/null 2>"$tmp/err"
rc=$?
check "existing --name exits 73 (got $rc)" '[ $rc -eq 73 ]'
check "existing --name: not replaced" 'grep -qx "Application: Playback" "$spool/outgoing/hello.call"'

callfile-gen --spool "$spool" --channel PJSIP/1000 --application Wait >"$tmp/out"
check "generated name" '[ -f "$(cat "$tmp/out")" ] && [ "$(dirname "$(cat "$tmp/out")")" = "$spool/outgoing" ]'

# 3. --at: modification time in the future.
callfile-gen --spool "$spool" --channel PJSIP/1000 --application Wait --name at.call \
  --at "2099-01-02 03:04:05" >/dev/null
check "--at full date sets mtime" '[ "$(stat -c %Y "$spool/outgoing/at.call")" = "$(date -d "2099-01-02 03:04:05" +%s)" ]'
callfile-gen --spool "$spool" --channel PJSIP/1000 --application Wait --name hhmm.call --at 23:59 >/dev/null
m=$(stat -c %Y "$spool/outgoing/hhmm.call")
check "--at HH:MM is in the next 24 h" '[ "$m" -gt "$(date +%s)" ] && [ "$m" -le $(( $(date +%s) + 86400 )) ]'
check "--at HH:MM is at 23:59" '[ "$(date -d "@$m" +%H:%M:%S)" = 23:59:00 ]'
callfile-gen --channel PJSIP/1 --application Wait --at 25:00 --stdout >/dev/null 2>"$tmp/err"
check "bad --at exits 64" '[ $? -eq 64 ] && grep -q "^callfile-gen: error: --at" "$tmp/err"'

# 4. Injections: CR, LF or NUL-free values only; each refused with 65 and nothing queued.
n_before=$(ls -A "$spool/outgoing" | wc -l)
inject() { # $1 = what, rest = arguments
  local what=$1
  shift
  callfile-gen --spool "$spool" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  check "$what: exits 65 (got $rc)" '[ $rc -eq 65 ]'
  check "$what: one error line: $(cat "$tmp/err")" '[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^callfile-gen: error: " "$tmp/err"'
  check "$what: nothing on stdout" '[ ! -s "$tmp/out" ]'
}
for nl in $'\n' $'\r' $'\r\n'; do
  inject "LF/CR in --channel" --channel "PJSIP/1${nl}Application: System" --application Wait
  inject "LF/CR in --data" --channel PJSIP/1 --application Wait --data "1${nl}Channel: Local/666@evil"
  inject "LF/CR in --application" --channel PJSIP/1 --application "Wait${nl}Data: 9"
  inject "LF/CR in --callerid" --channel PJSIP/1 --application Wait --callerid "x${nl}Set: A=1"
  inject "LF/CR in --context" --channel PJSIP/1 --context "c${nl}x: y" --extension 1
  inject "LF/CR in --extension" --channel PJSIP/1 --context c --extension "1${nl}x: y"
  inject "LF/CR in --priority" --channel PJSIP/1 --context c --extension 1 --priority "1${nl}x: y"
  inject "LF/CR in --setvar value" --channel PJSIP/1 --application Wait --setvar "A=1${nl}Application: System"
  inject "LF/CR in --setvar name" --channel PJSIP/1 --application Wait --setvar "A${nl}B=1"
done
inject "'#' comment" --channel PJSIP/1 --application Wait --data "1 #x"
inject "overlong line" --channel PJSIP/1 --application Wait --data "$(printf 'x%.0s' $(seq 300))"
inject "channel without /" --channel PJSIP1 --application Wait
inject "neither application nor context" --channel PJSIP/1
check "injections queued nothing" '[ "$(ls -A "$spool/outgoing" | wc -l)" -eq "$n_before" ] && [ -z "$(ls -A "$spool/tmp")" ]'
# NUL cannot travel in argv; the unit tests (callfile_test) refuse it in every field.

callfile-gen --channel PJSIP/1 --application Wait --context c --stdout >/dev/null 2>&1
check "--application with --context is a usage error (64)" '[ $? -eq 64 ]'
callfile-gen --channel PJSIP/1 --application Wait --setvar novalue --stdout >/dev/null 2>"$tmp/err"
check "--setvar without '=' exits 64" '[ $? -eq 64 ] && grep -q "NAME=VALUE" "$tmp/err"'

exit $fail
