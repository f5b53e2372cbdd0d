#!/usr/bin/env bash
# The two roads between SIP and SMS, end to end with the real binaries: a SIP message posted by
# post-sms (over AGI) is routed by sms-process to an SMS phone (a queue file and a call), and an
# SMS for a T subscriber leaves sms-process as an AMI MessageSend (to a loopback fake manager).
set -u
fake=${SMS_FAKE_AMI:-$SMS_BIN_DIR/../tests/send-sipim-fake-ami}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

sqlite3 "$tmp/directory.db" <<'SQL'
CREATE TABLE PBXNumbers(Account TEXT PRIMARY KEY, Message TEXT NOT NULL, Extension TEXT NOT NULL);
INSERT INTO PBXNumbers VALUES ('48600700800', 'S', 'DAHDI/1'), ('48500100200', 'S', 'DAHDI/2'),
  ('2000', 'T', 'PJSIP/2000');
SQL
"$fake" "$tmp/port" "$tmp/ami.log" success &
srv=$!
# The manager writes its port once it listens: a generous deadline, for a busy machine.
deadline=$((SECONDS + 60))
until [ -s "$tmp/port" ] || ((SECONDS > deadline)); do sleep 0.05; done
[ -s "$tmp/port" ] || { echo "FAIL: the fake manager did not start in 60 s"; exit 1; }
cat >"$tmp/sms.conf" <<CONF
[general]
spool_dir = $tmp/spool
[directory]
backend = sqlite
sqlite_path = $tmp/directory.db
[ami]
host = 127.0.0.1
port = $(cat "$tmp/port")
username = tester
secret = s3cret
timeout = 5
CONF
chmod 600 "$tmp/sms.conf"
morx=$tmp/spool/sms/morx
mkdir -p "$tmp/spool"
mttx=$tmp/spool/sms/mttx
files() { find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null; }

# 1. SIP user 2000 writes to the SMS phone 48600700800: post-sms over AGI (answers pre-written
# in the order post-sms asks: MESSAGE_FROM, EXTEN, MSG_B64, then its status and VERBOSE).
b64=$(printf 'Hello phone,\nsecond line' | base64 -w0)
printf 'agi_request: post-sms\nagi_channel: Message/ast_msg_queue\n\n200 result=1 ("Alice" <sip:2000@192.0.2.1>)\n200 result=1 (48600700800)\n200 result=1 (%s)\n200 result=1\n200 result=1\n' "$b64" |
  post-sms --config "$tmp/sms.conf" >"$tmp/agi.out" 2>"$tmp/err"
rc=$?
check "post-sms exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "posted into morx" '[ "$(files "$morx" | wc -l)" -eq 1 ]'

sms-process --config "$tmp/sms.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "sms-process exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "morx emptied" '[ "$(files "$morx" | wc -l)" -eq 0 ]'
check "one queue file in mttx" '[ "$(files "$mttx" | wc -l)" -eq 1 ]'
q=$(files "$mttx" | head -1)
# SPEC 4: the text as ud## (UCS-2 hex), the sender as oa.
want=$(printf 'Hello phone, second line' | iconv -f UTF-8 -t UTF-16BE | od -An -tx1 | tr -d ' \n')
check "queue file from 2000" 'grep -qx "oa=2000" "$q"'
check "queue file holds the text (ud##$want)" 'grep -qix "ud##$want" "$q"'
check "a delivery call to DAHDI/1" 'grep -rqx "Channel: DAHDI/1" "$tmp/spool/outgoing"'
check "the call runs SMS" 'grep -rqx "Application: SMS" "$tmp/spool/outgoing"'

# 2. The phone 48500100200 texts the SIP user 2000: app_sms's file -> MessageSend.
mkdir -p "$morx"
printf 'oa=48500100200\nda=2000\nud=Zażółć, SIP user\nscts=2026-11-29T22:53:42\nmr=7\n' \
  >"$morx/.48500100200.2026-11-29T22:53:42-0"
mv "$morx/.48500100200.2026-11-29T22:53:42-0" "$morx/48500100200.2026-11-29T22:53:42-0"
sms-process --config "$tmp/sms.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
wait "$srv"
srv=
check "sms-process exits 0 (got $rc: $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "manager got MessageSend" 'grep -qx "Action: MessageSend" "$tmp/ami.log"'
check "To: pjsip:2000" 'grep -qx "To: pjsip:2000" "$tmp/ami.log"'
check "From: the phone" 'grep -q "^From: .*48500100200" "$tmp/ami.log"'
check "body arrived whole" 'grep -qx "Body(decoded): Zażółć, SIP user" "$tmp/ami.log"'
check "logged in with the configured user" 'grep -qx "Username: tester" "$tmp/ami.log"'
check "morx emptied after Success" '[ "$(files "$morx" | wc -l)" -eq 0 ]'
exit $fail
