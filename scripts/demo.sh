#!/usr/bin/env bash
# The main job on the embedded default, no Asterisk needed: installs what building and running
# the tools needs (no test servers, pandoc or clang), builds the tools alone (the release preset:
# no tests, fuzzers or benchmarks), makes a sample spool in ./demo (the recorded app_sms messages
# plus one message for every service), a SQLite subscriber directory from examples/, and runs
# sms-process over it.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

start=$SECONDS
bash scripts/install-deps.sh --tools
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
bin=$top/build/release/tools
echo "demo: installed and built in $((SECONDS - start)) s"

demo=$top/demo
rm -rf "$demo"
mkdir -p "$demo/spool/sms/morx"
cat >"$demo/sms-suite.conf" <<CONF
; The demo's configuration: everything else is the built-in default (see sms-suite.conf(5)).
[general]
spool_dir = $demo/spool
[directory]
backend = sqlite
sqlite_path = $demo/directory.db
[fax]
dir = $demo/spool/fax
[voice]
dir = $demo/spool/voice
[commands]
help = builtin:help
echo = builtin:echo
uptime = builtin:uptime
hours = "The office is open 9:00-17:00, Monday to Friday."
[ami]
port = 5039   ; no Asterisk here: the SIP message waits for it
timeout = 1
CONF

# The subscriber directory, made and filled with sms-directory (every value checked as the
# router reads it): the sample numbers, then one more by hand.
"$bin/sms-directory" --config "$demo/sms-suite.conf" init
"$bin/sms-directory" --config "$demo/sms-suite.conf" import examples/directory-sample.csv
"$bin/sms-directory" --config "$demo/sms-suite.conf" set 600700805 --service V --channel PJSIP/600700805
echo
echo "== sms-directory list"
"$bin/sms-directory" --config "$demo/sms-suite.conf" list

# What phones sent to the SMS centre: the messages app_sms recorded, then one per service.
cp tests/data/app_sms/morx/* "$demo/spool/sms/morx/"
n=0
msg() { # oa da text [udh]
  n=$((n + 1))
  local name="$1.2026-11-30T09:00:$(printf %02d $n)-$((100 + n))"
  {
    echo "oa=$1"
    echo "da=$2"
    [[ -n ${4:-} ]] && echo "udh#$4"
    echo "ud=$3"
    echo "scts=2026-11-30T09:00:$(printf %02d $n)"
    echo "mr=$n"
  } >"$demo/spool/sms/morx/.$name"
  mv "$demo/spool/sms/morx/.$name" "$demo/spool/sms/morx/$name"
}
msg 48500100200 600700801 "Please fax me the price list. Zażółć gęślą jaźń, ΑΒΓ, Привет."
msg 48500100200 600700802 "Dinner at eight tonight. Do not be late!"
msg 48500100200 1000 "hours"
msg 48500100200 600700803 "Are you at your desk?"
msg 48500100200 600700804 "Are you there?"
msg 48500100200 600700899 "Hello, stranger."
msg 48600700800 600700800 "Part two of two." 0003420202
msg 48600700800 600700800 "This arrives in two parts. " 0003420201
printf 'this is not an SMS\n' >"$demo/spool/sms/morx/garbage.txt"

echo
echo "== The spool before: $demo/spool/sms/morx"
ls -1 "$demo/spool/sms/morx"
echo
echo "== sms-process --json (one object per message, then a summary)"
set +e
"$bin/sms-process" --config "$demo/sms-suite.conf" --json
rc=$?
set -e
echo "(exit status $rc: 75 means a message waits for a temporary failure to pass)"
[[ $rc == 0 || $rc == 75 ]] || exit "$rc"

echo
echo "== What it wrote"
(cd "$demo/spool" && find . -type f ! -path './sms/.sms-suite/*' | sort)
echo
echo "== SMS queued for phones (sms/mttx, decoded)"
python3 - "$demo/spool/sms/mttx" <<'PY'
import os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    fields = {}
    for line in open(os.path.join(d, name), encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("ud##"):
            fields["text"] = bytes.fromhex(line[4:]).decode("utf-16-be")
        elif "=" in line:
            k, v = line.split("=", 1)
            fields[k] = v
    print(f"{fields.get('oa')} -> {fields.get('da')} (dcs {fields.get('dcs')}): {fields.get('text', '')!r}")
PY
echo
echo "== A delivery call (outgoing/)"
first_call=$(ls "$demo/spool/outgoing" | head -1)
sed 's/^/    /' "$demo/spool/outgoing/$first_call"
if command -v tiffinfo >/dev/null; then
  echo
  echo "== The fax page"
  tiffinfo "$demo"/spool/fax/*.tiff 2>/dev/null | grep -E 'Image Width|Resolution|Compression|FillOrder' | sort -u | sed 's/^ */    /'
fi
echo
echo "== The spoken message (its WAV header, read with Python's wave module)"
python3 - "$demo"/spool/voice/*.wav <<'PY'
import sys, wave
for path in sys.argv[1:]:
    with wave.open(path) as w:
        rate, frames = w.getframerate(), w.getnframes()
        print(f"    Channels       : {w.getnchannels()}")
        print(f"    Sample Rate    : {rate}")
        print(f"    Precision      : {8 * w.getsampwidth()}-bit")
        print(f"    Duration       : {frames / rate:.2f} s = {frames} samples")
PY
echo
echo "== The SIP message waited for Asterisk's manager. With a stand-in manager"
echo "   (tests/e2e/lib/spoolkit.py, as the tests use), the next run sends it, and only it:"
python3 - "$demo/sms-suite.conf" "$bin/sms-process" <<'PY'
import os, subprocess, sys
sys.path.insert(0, "tests/e2e/lib")
from spoolkit import FakeManager
conf, tool = sys.argv[1], sys.argv[2]
m = FakeManager()
with open(conf) as f:
    text = f.read().replace("port = 5039", f"port = {m.port}")
alt = conf + ".with-manager"
with open(alt, "w") as f:
    f.write(text)
os.chmod(alt, 0o600)
out = subprocess.run([tool, "--config", alt, "--json"], capture_output=True, text=True)
print(out.stdout, end="")
print(out.stderr, end="")
for frm, to, body in m.sent:
    print(f"    the manager got MessageSend From: {frm} To: {to} body: {body!r}")
PY
echo
echo "== sms-queue: what the suite still holds (held parts, retries, quarantined files, SMS queued for phones)"
"$bin/sms-queue" --config "$demo/sms-suite.conf"

echo
echo "Run it again: nothing is routed twice. Look around in $demo; 'sms-process --help' says more,"
if [[ -f build/release/man/sms-process.8 ]]; then
  echo "and so does 'man -l build/release/man/sms-process.8'."
else
  echo "and so does man/sms-process.8.md (the man pages are built where pandoc is installed)."
fi
