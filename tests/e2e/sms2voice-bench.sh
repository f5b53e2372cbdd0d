#!/usr/bin/env bash
# Benchmark (SPEC 7, not a ctest test): sms2voice against `espeak-ng -w` then `ffmpeg -ar 8000`
# on the same 160-character message (header included); prints medians, ratios and peak memory.
# Usage: sms2voice-bench.sh [path/to/sms2voice] [runs]
#        (needs hyperfine, espeak-ng, ffmpeg, /usr/bin/time: scripts/install-deps.sh --bench)
set -euo pipefail
bin=${1:-${SMS_BIN_DIR:-$(dirname "$0")/../../build/tools}/sms2voice}
runs=${2:-30}
for t in hyperfine espeak-ng ffmpeg /usr/bin/time python3; do
  command -v "$t" >/dev/null || {
    echo "sms2voice-bench: $t is missing (scripts/install-deps.sh --bench)" >&2
    exit 69
  }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[voice]\ndir = %s/voice\n' "$tmp" >"$tmp/b.conf"

text="Hello, this is a test of the voice service. The meeting tomorrow starts at nine in room four. Please bring the papers and call me back when you can. Thanks! Bye"
[ ${#text} -eq 160 ] || { echo "sms2voice-bench: the text is ${#text} characters, not 160" >&2; exit 70; }
printf '%s' "$text" >"$tmp/text.txt"
# The peer says what sms2voice says: the header, then the text.
printf 'Message from 5 0 0 1 0 0 2 0 0. %s' "$text" >"$tmp/spoken.txt"

ours="$bin --config $tmp/b.conf --from 500100200 --to 600700800 --scts 2026-11-29T22:53:42 --no-call --output $tmp/ours.wav --text - < $tmp/text.txt"
espeak="espeak-ng -w $tmp/peer22k.wav -f $tmp/spoken.txt"
ffmpeg="ffmpeg -y -loglevel error -i $tmp/peer22k.wav -ar 8000 $tmp/peer.wav"

hyperfine --style none --warmup 3 --runs "$runs" --export-json "$tmp/b.json" \
  -n sms2voice "$ours" -n "espeak-ng -w + ffmpeg" "$espeak && $ffmpeg" >/dev/null

rss() { /usr/bin/time -v sh -c "$1" 2>&1 >/dev/null | awk '/Maximum resident/ {print $6}'; }
python3 - "$tmp/b.json" "$(rss "$ours")" "$(rss "$espeak")" "$(rss "$ffmpeg")" <<'EOF'
import json, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
us, them = res["sms2voice"], res["espeak-ng -w + ffmpeg"]
cpu = lambda x: (x["user"] + x["system"]) * 1000
ours, espeak, ffmpeg = (int(v) / 1024 for v in sys.argv[2:5])
print(f"voice (160 characters): sms2voice {us['median'] * 1000:.1f} ms median, "
      f"espeak-ng -w + ffmpeg {them['median'] * 1000:.1f} ms: "
      f"{them['median'] / us['median']:.1f}x faster (target >= 3x); "
      f"CPU {cpu(us):.1f} ms vs {cpu(them):.1f} ms ({cpu(them) / cpu(us):.1f}x)")
print(f"voice peak memory: sms2voice {ours:.1f} MiB (espeak-ng {espeak:.1f} MiB, "
      f"ffmpeg {ffmpeg:.1f} MiB)")
EOF
