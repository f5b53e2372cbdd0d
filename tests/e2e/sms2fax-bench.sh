#!/usr/bin/env bash
# Benchmark (SPEC 7, not a ctest test): sms2fax against `paps | gs -sDEVICE=tiffg3 -r204x196` on
# the same one-page and ten-page texts; prints medians, ratios and peak memory.
# Usage: sms2fax-bench.sh [path/to/sms2fax] [runs]   (needs hyperfine, paps, gs, /usr/bin/time)
set -euo pipefail
bin=${1:-${SMS_BIN_DIR:-$(dirname "$0")/../../build/tools}/sms2fax}
runs=${2:-20}
for t in hyperfine paps gs /usr/bin/time python3; do
  command -v "$t" >/dev/null || { echo "sms2fax-bench: $t is missing (scripts/install-deps.sh --bench)" >&2; exit 69; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[fax]\ndir = %s/fax\n' "$tmp" >"$tmp/b.conf"

# About 80 columns a line, Polish, Greek and Cyrillic words mixed in: 60 lines fill one page
# with the header, 670 lines fill ten.
python3 - "$tmp" <<'EOF'
import random, sys
random.seed(1)
words = ("the quick brown fox jumps over lazy dog message text fax page line "
         "Zażółć gęślą jaźń Ελληνικά Русский").split()
lines = [" ".join(random.choice(words) for _ in range(12)) for _ in range(60)]
open(sys.argv[1] + "/one.txt", "w").write("\n".join(lines) + "\n")
ten = (lines * 12)[:670]
open(sys.argv[1] + "/ten.txt", "w").write("\n".join(ten) + "\n")
EOF

ours() { echo "$bin --config $tmp/b.conf --from 500100200 --to 600700800 --scts 2026-11-29T22:53:42 --no-call --output $tmp/$1-ours.tiff --text - < $tmp/$1.txt"; }
peer() { echo "paps --font='DejaVu Sans Mono 10' $tmp/$1.txt | gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=tiffg3 -r204x196 -sOutputFile=$tmp/$1-gs.tiff -"; }

hyperfine --style none --warmup 3 --runs "$runs" --export-json "$tmp/b.json" \
  -n "sms2fax one" "$(ours one)" -n "paps|gs one" "$(peer one)" \
  -n "sms2fax ten" "$(ours ten)" -n "paps|gs ten" "$(peer ten)" >/dev/null

rss() { /usr/bin/time -v sh -c "$1" 2>&1 >/dev/null | awk '/Maximum resident/ {print $6}'; }
pages() { tiffinfo "$1" 2>/dev/null | grep -c "TIFF Directory"; }
python3 - "$tmp/b.json" "$(rss "$(ours one)")" "$(rss "$(ours ten)")" "$(rss "$(peer one)")" \
  "$(rss "$(peer ten)")" "$(pages "$tmp/one-ours.tiff")" "$(pages "$tmp/ten-ours.tiff")" <<'EOF'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
rss = [int(v) / 1024 for v in sys.argv[2:6]]
for i, n in enumerate(("one", "ten")):
    us, them = r[f"sms2fax {n}"], r[f"paps|gs {n}"]
    print(f"fax {n} ({sys.argv[6 + i]} page(s)): sms2fax {us:.1f} ms median, paps|gs {them:.1f} ms: "
          f"{them / us:.1f}x faster (target >= 5x); peak memory {rss[i]:.1f} MiB "
          f"(limit 64 MiB; paps|gs {rss[2 + i]:.1f} MiB)")
EOF
