#!/usr/bin/env bash
# send-sipim end to end: the real binary against a loopback manager replaying Asterisk's
# answers (success, Error with its Message, bad secret, silence, a cut reply) and nobody at all.
set -u
fake=${SMS_FAKE_AMI:-$SMS_BIN_DIR/../tests/send-sipim-fake-ami}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

# start_server MODE: runs the fake manager, writes a config pointing at it.
start_server() {
  rm -f "$tmp/port" "$tmp/log"
  "$fake" "$tmp/port" "$tmp/log" "$1" &
  srv=$!
  # The manager writes its port once it listens: a generous deadline, for a busy machine.
  deadline=$((SECONDS + 60))
  until [ -s "$tmp/port" ] || ((SECONDS > deadline)); do sleep 0.05; done
  [ -s "$tmp/port" ] || { echo "FAIL: the fake manager did not start in 60 s"; exit 1; }
  cat >"$tmp/sms.conf" <<CONF
[ami]
host = 127.0.0.1
port = $(cat "$tmp/port")
username = tester
secret = ${2:-s3cret}
timeout = 2
CONF
  chmod 600 "$tmp/sms.conf"
}
finish_server() { wait "$srv" 2>/dev/null; srv=; }

# Success, text on stdin with a newline and Polish letters.
start_server success
printf 'Zażółć gęślą jaźń\nSecond line' | send-sipim --config "$tmp/sms.conf" 9000 1000 \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
finish_server
check "success exits 0 (got $rc; $(cat "$tmp/err"))" '[ $rc -eq 0 ]'
check "success prints nothing on stdout" '[ ! -s "$tmp/out" ]'
check "MessageSend sent" 'grep -qx "Action: MessageSend" "$tmp/log"'
check "To: pjsip:1000" 'grep -qx "To: pjsip:1000" "$tmp/log"'
check "From: the sender" 'grep -qx "From: 9000" "$tmp/log"'
check "body arrived whole" 'grep -qx "Body(decoded): Zażółć gęślą jaźń" "$tmp/log"'
check "an ActionID on every action" '[ "$(grep -c "^ActionID: " "$tmp/log")" -eq "$(grep -c "^Action: " "$tmp/log")" ]'
check "logged off" 'grep -qx "Action: Logoff" "$tmp/log"'

# Asterisk says Error: exit 1 with its Message.
start_server error
send-sipim --config "$tmp/sms.conf" 9000 1000 --text hello >"$tmp/out" 2>"$tmp/err"
rc=$?
finish_server
check "Error exits 1 (got $rc)" '[ $rc -eq 1 ]'
check "Error prints Asterisk's Message" 'grep -q "Message technology not found." "$tmp/err"'
check "one error line" '[ "$(wc -l <"$tmp/err")" -eq 1 ]'

# Bad secret: 69.
start_server badsecret wrong
send-sipim --config "$tmp/sms.conf" 9000 1000 --text hello >"$tmp/out" 2>"$tmp/err"
rc=$?
finish_server
check "bad secret exits 69 (got $rc)" '[ $rc -eq 69 ]'
check "bad secret says so" 'grep -q "login refused.*Authentication failed" "$tmp/err"'

# A manager that never answers: 75.
start_server silent
sed -i 's/^timeout = .*/timeout = 1/' "$tmp/sms.conf"
send-sipim --config "$tmp/sms.conf" 9000 1000 --text hello >"$tmp/out" 2>"$tmp/err"
rc=$?
finish_server
check "silence exits 75 (got $rc)" '[ $rc -eq 75 ]'

# A reply cut off mid-way: 75.
start_server close
send-sipim --config "$tmp/sms.conf" 9000 1000 --text hello >"$tmp/out" 2>"$tmp/err"
rc=$?
finish_server
check "cut reply exits 75 (got $rc)" '[ $rc -eq 75 ]'
check "cut reply says closed" 'grep -q "closed" "$tmp/err"'

# Nobody listening (the last server's port is closed now): 69.
send-sipim --config "$tmp/sms.conf" 9000 1000 --text hello >"$tmp/out" 2>"$tmp/err"
rc=$?
check "no manager exits 69 (got $rc)" '[ $rc -eq 69 ]'

# Header injection and bad text are refused before connecting: 65.
send-sipim --config "$tmp/sms.conf" 9000 $'1000\r\nAction: Originate' --text x >"$tmp/out" 2>"$tmp/err"
rc=$?
check "CR/LF in TO exits 65 (got $rc)" '[ $rc -eq 65 ]'
printf '\xc3\x28' | send-sipim --config "$tmp/sms.conf" 9000 1000 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "invalid UTF-8 exits 65 (got $rc)" '[ $rc -eq 65 ]'
exit $fail
