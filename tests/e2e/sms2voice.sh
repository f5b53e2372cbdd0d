#!/usr/bin/env bash
# sms2voice end to end: the WAV Asterisk plays (checked by soxi and sox), the call file, the
# subscriber lookup, and the failures that must leave nothing behind.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

spool=$tmp/spool
voice=$tmp/voice
mkdir -p "$spool/outgoing" "$voice" "$tmp/out"
sqlite3 "$tmp/dir.db" "CREATE TABLE PBXNumbers(Account TEXT PRIMARY KEY, Message TEXT NOT NULL,
  Extension TEXT NOT NULL); INSERT INTO PBXNumbers VALUES('600700800','V','PJSIP/1000');"
write_conf() { # $1 = extra [voice] lines
  cat >"$tmp/sms.conf" <<EOF
[general]
spool_dir = $spool
[directory]
backend = sqlite
sqlite_path = $tmp/dir.db
[voice]
dir = $voice
$1
EOF
}
write_conf ""
conf=(--config "$tmp/sms.conf")
text="Hello, this is a test of the voice service. The meeting tomorrow starts at nine in room four. Please bring the papers and call me back when you can. Thanks!"

# 1. --output + --no-call: exactly that file, a WAV Asterisk plays.
out=$tmp/out/x.wav
sms2voice "${conf[@]}" --from 500100200 --to 600700800 --text "$text" --output "$out" --no-call \
  >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "render exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
check "prints the path" '[ "$(cat "$tmp/stdout")" = "$out" ]'
check "nothing on stderr" '[ ! -s "$tmp/stderr" ]'
check "soxi: 8000 Hz" '[ "$(soxi -r "$out")" = 8000 ]'
check "soxi: mono" '[ "$(soxi -c "$out")" = 1 ]'
check "soxi: 16-bit" '[ "$(soxi -b "$out")" = 16 ]'
check "soxi: signed PCM" 'soxi -e "$out" | grep -q "Signed Integer PCM"'
# The header's sizes are real: data size = file size - 44, as soxi's sample count shows.
size=$(stat -c %s "$out")
check "soxi: samples match the file size" '[ $(( $(soxi -s "$out") * 2 + 44 )) -eq "$size" ]'
check "format tag 1 (not EXTENSIBLE)" '[ "$(od -An -tu2 -j20 -N2 "$out" | tr -d " ")" = 1 ]'
if command -v ffprobe >/dev/null; then # ffmpeg is a benchmark peer, not a test dependency
  check "ffprobe agrees: pcm_s16le 8000 mono" \
    'ffprobe -v error -show_entries stream=codec_name,sample_rate,channels -of csv=p=0 "$out" | grep -qx "pcm_s16le,8000,1"'
fi
dur=$(soxi -D "$out")
check "a 160-character text lasts 8-20 s (got $dur)" 'awk -v d="$dur" "BEGIN{exit !(d > 8 && d < 20)}"'
lead=$(sox "$out" -n trim 0 1 stat 2>&1 | awk '/Maximum amplitude/ {print $3}')
speech=$(sox "$out" -n trim 1 3 stat 2>&1 | awk '/Maximum amplitude/ {print $3}')
check "the lead second is silent (max $lead)" 'awk -v a="$lead" "BEGIN{exit !(a == 0)}"'
check "speech follows it (max $speech)" 'awk -v a="$speech" "BEGIN{exit !(a > 0.1)}"'
check "no call file with --no-call" '[ -z "$(ls -A "$spool/outgoing")" ]'
check "nothing else in the output folder" '[ "$(ls -A "$tmp/out")" = x.wav ]'

# 2. The router's rerun: the same command gives the same file.
cp "$out" "$tmp/first.wav"
sms2voice "${conf[@]}" --from 500100200 --to 600700800 --text "$text" --output "$out" --no-call \
  >/dev/null 2>&1
check "rerun exits 0, same bytes" '[ $? -eq 0 ] && cmp -s "$out" "$tmp/first.wav"'

# 3. Text from stdin; Polish; longer text, longer audio.
echo "Cześć! Zażółć gęślą jaźń." | sms2voice "${conf[@]}" --from 500100200 --to 600700800 \
  --language pl --output "$tmp/out/pl.wav" --no-call >/dev/null 2>"$tmp/stderr"
rc=$?
check "Polish from stdin exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
check "Polish WAV is 8000 Hz" '[ "$(soxi -r "$tmp/out/pl.wav" 2>/dev/null)" = 8000 ]'
sms2voice "${conf[@]}" --from 5 --to 6 --text "Hi." --output "$tmp/out/short.wav" --no-call \
  >/dev/null 2>&1
check "longer text, longer audio" \
  '[ "$(soxi -s "$tmp/out/short.wav")" -lt "$(soxi -s "$out")" ]'

# 3b. It says the text: after the lead second, the speech matches what espeak-ng's own program
# says for header + text, resampled by sox (normalised correlation; a wrong rate, byte order,
# voice or text falls far below). Needs the espeak-ng program (a benchmark peer).
similarity() { # $1 = our WAV, $2 = reference WAV at 8000 Hz: best correlation over small lags
  python3 - "$1" "$2" <<'PY'
import array, math, sys, wave
def samples(path, skip=0):
    with wave.open(path) as w:
        w.setpos(skip)
        return array.array("h", w.readframes(w.getnframes() - skip))
a, b = samples(sys.argv[1], 8000), samples(sys.argv[2])
n = min(len(a), len(b))
best = 0.0
for lag in range(-4, 5):
    s = sa = sb = 0
    for i in range(max(0, lag), min(n, n + lag)):
        x, y = a[i], b[i - lag]
        s += x * y; sa += x * x; sb += y * y
    if sa and sb:
        best = max(best, s / math.sqrt(sa * sb))
print(f"{best:.4f}")
PY
}
if command -v espeak-ng >/dev/null; then
  say_en="Please call me back tomorrow morning."
  say_pl="Proszę oddzwonić jutro rano."
  header="Message from 5 0 0 1 0 0 2 0 0."
  sms2voice "${conf[@]}" --from 500100200 --to 6 --text "$say_en" --output "$tmp/en.wav" \
    --no-call >/dev/null 2>&1
  espeak-ng -v en -w "$tmp/ref.wav" "$header $say_en" && sox "$tmp/ref.wav" -r 8000 "$tmp/ref-en.wav"
  sms2voice "${conf[@]}" --from 500100200 --to 6 --language pl --text "$say_pl" \
    --output "$tmp/pl2.wav" --no-call >/dev/null 2>&1
  espeak-ng -v pl -w "$tmp/ref.wav" "$header $say_pl" && sox "$tmp/ref.wav" -r 8000 "$tmp/ref-pl.wav"
  c_en=$(similarity "$tmp/en.wav" "$tmp/ref-en.wav")
  c_pl=$(similarity "$tmp/pl2.wav" "$tmp/ref-pl.wav")
  c_cross=$(similarity "$tmp/pl2.wav" "$tmp/ref-en.wav")
  check "English speech is espeak-ng's for the text (correlation $c_en)" \
    'awk -v c="$c_en" "BEGIN{exit !(c > 0.95)}"'
  check "Polish speech is espeak-ng's Polish (correlation $c_pl)" \
    'awk -v c="$c_pl" "BEGIN{exit !(c > 0.95)}"'
  check "and not the English one (correlation $c_cross)" \
    'awk -v c="$c_cross" "BEGIN{exit !(c < 0.5)}"'
else
  echo "note: the espeak-ng program is not installed: the comparison with it is skipped"
fi

# 4. Failures: exit code, a clear message, nothing left behind.
expect_fail() { # $1 = name, $2 = code, $3 = pattern in stderr, rest = arguments
  local name=$1 want=$2 pattern=$3
  shift 3
  rm -rf "$tmp/out" && mkdir -p "$tmp/out"
  sms2voice "${conf[@]}" "$@" >"$tmp/stdout" 2>"$tmp/stderr" </dev/null
  local got=$?
  check "$name: exit $want (got $got: $(cat "$tmp/stderr"))" '[ $got -eq $want ]'
  check "$name: one error line naming the fault" \
    '[ "$(wc -l <"$tmp/stderr")" -eq 1 ] && grep -q "^sms2voice: error: .*$pattern" "$tmp/stderr"'
  check "$name: nothing on stdout" '[ ! -s "$tmp/stdout" ]'
  check "$name: no output left" '[ -z "$(ls -A "$tmp/out")" ] && [ -z "$(ls -A "$voice")" ]'
  check "$name: no call file" '[ -z "$(ls -A "$spool/outgoing")" ]'
}
base=(--from 500100200 --to 600700800 --output "$tmp/out/f.wav" --no-call)
expect_fail "unknown language" 78 "language 'xx'" "${base[@]}" --language xx --text "Hello"
# An empty SMS (app_sms writes no ud line) is the spoken header alone; so is one from an
# unknown sender (no --from): the header says [texts] unknown_sender instead of digits.
for t in "" "   "; do
  rm -f "$tmp/out/empty.wav"
  sms2voice "${conf[@]}" --from 500100200 --to 600700800 --output "$tmp/out/empty.wav" --no-call \
    --text "$t" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  check "empty text '$t': exit 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
  d=$(soxi -D "$tmp/out/empty.wav" 2>/dev/null || echo 0)
  check "empty text '$t': the header is spoken (got $d s)" 'awk -v d="$d" "BEGIN{exit !(d > 2)}"'
done
rm -f "$tmp/out/empty.wav"
sms2voice "${conf[@]}" --to 600700800 --output "$tmp/out/anon.wav" --no-call --text "" \
  >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "no --from: exit 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ] && [ -s "$tmp/out/anon.wav" ]'
rm -f "$tmp/out/anon.wav"
expect_fail "bad --scts" 64 "scts" "${base[@]}" --scts yesterday --text "Hello"
expect_fail "unwritable folder" 73 "$tmp/out/file" --from 5 --to 6 \
  --output "$tmp/out/file/f.wav" --no-call --text "Hello"
expect_fail "number not in the directory" 65 "--to 123" --from 5 --to 123 --text "Hello"
expect_fail "line break in --extension" 65 "Channel" --from 5 --to 6 \
  --extension $'PJSIP/1\nChannel: Local/666' --output "$tmp/out/f.wav" --text "Hello"
expect_fail "a call needs a .wav name" 64 "\.wav" --from 5 --to 6 --extension PJSIP/1 \
  --output "$tmp/out/f.mp3" --text "Hello"
expect_fail "text not UTF-8" 65 "UTF-8" "${base[@]}" --text $'caf\xe9'
write_conf "max_seconds = 3"
expect_fail "text over max_seconds" 65 "max_seconds" "${base[@]}" --text "$text"
write_conf "language = xx"
expect_fail "unknown configured language" 78 "language 'xx'" "${base[@]}" --text "Hello"
cat >"$tmp/sms.conf" <<EOF
[general]
spool_dir = $spool
[directory]
sqlite_path = $tmp/no/such.db
[voice]
dir = $voice
EOF
expect_fail "directory unavailable" 75 "directory" --from 5 --to 600700800 --text "Hello"
# The call cannot be queued (outgoing/ is a regular file): the WAV goes again.
mkdir "$tmp/plain"
echo "not a folder" >"$tmp/plain/outgoing"
cat >"$tmp/sms.conf" <<EOF
[general]
spool_dir = $tmp/plain
[voice]
dir = $voice
EOF
expect_fail "call cannot be queued" 73 "plain" --from 5 --to 6 --extension PJSIP/1 --text "Hello"
write_conf ""

# 5. Without --no-call: a new WAV in [voice] dir and a Playback call file in outgoing/.
sms2voice "${conf[@]}" --from 500100200 --to 600700800 --text "Hello there." \
  >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "call: exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
wav=$(cat "$tmp/stdout")
check "call: the WAV is in [voice] dir" '[ "$(dirname "$wav")" = "$voice" ] && [ -f "$wav" ]'
calls=("$spool"/outgoing/*)
check "call: one call file" '[ ${#calls[@]} -eq 1 ] && [ -f "${calls[0]}" ]'
cf=${calls[0]}
check "call: Channel from the directory" 'grep -qx "Channel: PJSIP/1000" "$cf"'
check "call: Context sms-voice-out" 'grep -qx "Context: sms-voice-out" "$cf" && ! grep -q "^Application:" "$cf"'
check "call: SMS_VOICE_FILE is the path without .wav" 'grep -qxF "SetVar: SMS_VOICE_FILE=${wav%.wav}" "$cf"'
check "call: no temporary left in outgoing" '[ -z "$(ls -A "$spool/outgoing" | grep "^\.")" ]'

# --extension overrides the directory (and needs no entry there).
sms2voice "${conf[@]}" --from 5 --to 123 --extension DAHDI/1 --text "Hi." \
  --output "$tmp/out/e.wav" >/dev/null 2>"$tmp/stderr"
rc=$?
check "--extension: exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
check "--extension: Channel DAHDI/1" 'grep -qx "Channel: DAHDI/1" "$spool"/outgoing/e.call'
check "--extension: absolute SMS_VOICE_FILE" 'grep -qxF "SetVar: SMS_VOICE_FILE=$tmp/out/e" "$spool"/outgoing/e.call'
(cd "$tmp/out" && sms2voice "${conf[@]}" --from 5 --to 123 --extension DAHDI/1 --text "Hi." \
  --output rel.wav >/dev/null 2>&1)
check "relative --output: SMS_VOICE_FILE is absolute" 'grep -qxF "SetVar: SMS_VOICE_FILE=$tmp/out/rel" "$spool"/outgoing/rel.call'

# SPEC 7: the WAV is written directly; libavformat/libavcodec (100+ ms a start) stay out.
check "links no libavformat or libavcodec" \
  '! ldd "$(command -v sms2voice)" | grep -Eq "libavformat|libavcodec"'
check "links libswresample and espeak-ng" \
  'ldd "$(command -v sms2voice)" | grep -q libswresample && ldd "$(command -v sms2voice)" | grep -q libespeak-ng'

exit $fail
