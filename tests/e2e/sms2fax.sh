#!/usr/bin/env bash
# End-to-end sms2fax: the TIFF it writes (read by tiffinfo), the call file it queues, the exit
# codes of bad input, and that a failed write leaves nothing behind.
set -u
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

mkdir -p "$tmp/spool/outgoing" "$tmp/out"
sqlite3 "$tmp/dir.db" "CREATE TABLE PBXNumbers(Account TEXT PRIMARY KEY, Message TEXT NOT NULL,
  Extension TEXT NOT NULL); INSERT INTO PBXNumbers VALUES('600700800','F','PJSIP/600');"
cat >"$tmp/sms.conf" <<EOF
[general]
spool_dir = $tmp/spool
[directory]
sqlite_path = $tmp/dir.db
[fax]
dir = $tmp/fax
localstationid = 9001
EOF
conf=(--config "$tmp/sms.conf")
text="Zażółć gęślą jaźń. Αβγ. Съешь же ещё этих мягких французских булок."

# The issue's "done when": --output and --no-call make a TIFF and queue nothing.
cd "$tmp/out"
sms2fax "${conf[@]}" --from 500100200 --to 600700800 --text "$text" --output x.tiff --no-call \
  >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "--output --no-call exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
check "the TIFF is there" '[ -s "$tmp/out/x.tiff" ]'
tiffinfo x.tiff >"$tmp/info" 2>&1
check "1728 wide" 'grep -q "Image Width: 1728 " "$tmp/info"'
check "CCITT Group 3" 'grep -q "Compression Scheme: CCITT Group 3" "$tmp/info"'
check "2-D encoding" 'grep -q "Group 3 Options: 2-d encoding" "$tmp/info"'
check "LSB-to-MSB fill order" 'grep -q "FillOrder: lsb-to-msb" "$tmp/info"'
check "min-is-white" 'grep -q "Photometric Interpretation: min-is-white" "$tmp/info"'
check "204x196 dpi (fine by default)" 'grep -q "Resolution: 204, 196 pixels/inch" "$tmp/info"'
check "one page" '[ "$(grep -c "TIFF Directory" "$tmp/info")" -eq 1 ]'
check "no call queued" '[ -z "$(ls -A "$tmp/spool/outgoing")" ]'
check "no temporary left" '[ "$(ls -A "$tmp/out")" = x.tiff ]'
cd "$tmp"

# The router's form is idempotent: the same input overwrites the same path with the same bytes.
args=(--from 500100200 --to 600700800 --scts 2026-11-29T22:53:42 --mr 17 --no-call)
sms2fax "${conf[@]}" "${args[@]}" --output "$tmp/out/r.tiff" --text - <<<"$text" >/dev/null
cp "$tmp/out/r.tiff" "$tmp/r1.tiff"
sms2fax "${conf[@]}" "${args[@]}" --output "$tmp/out/r.tiff" --text - <<<"$text" >/dev/null
check "a rerun writes the same bytes" 'cmp -s "$tmp/out/r.tiff" "$tmp/r1.tiff"'
check "a rerun adds no file" '[ "$(ls -A "$tmp/out" | wc -l)" -eq 2 ]'

# The three resolutions.
for r in standard:98 fine:196 superfine:391; do
  sms2fax "${conf[@]}" "${args[@]}" --resolution "${r%%:*}" --output "$tmp/out/${r%%:*}.tiff" \
    --text "$text" >/dev/null
  check "--resolution ${r%%:*} is 204x${r#*:}" \
    'tiffinfo "$tmp/out/${r%%:*}.tiff" 2>&1 | grep -q "Resolution: 204, ${r#*:} pixels/inch"'
done

# Without --no-call: a new file in [fax] dir and a SendFax call to the directory's channel.
sms2fax "${conf[@]}" --from 500100200 --to 600700800 --scts 2026-11-29T22:53:42 \
  --text "$text" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "with a call exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
tiff=$(cat "$tmp/stdout")
check "prints the TIFF's path in [fax] dir ($tiff)" '[[ $tiff == "$tmp/fax/"*.tiff && -s $tiff ]]'
calls=("$tmp"/spool/outgoing/*)
check "one call file in outgoing/" '[ ${#calls[@]} -eq 1 ] && [ -f "${calls[0]}" ]'
call=${calls[0]}
check "Channel from the directory" 'grep -qx "Channel: PJSIP/600" "$call"'
check "Context: sms-fax-out (runs SendFax, reports from h)" \
  'grep -qx "Context: sms-fax-out" "$call" && grep -qx "Extension: s" "$call" && ! grep -q "^Application:" "$call"'
check "SetVar: SMS_FAX_FILE=<tiff>, SMS_FAX_OPTIONS=F" \
  'grep -qxF "SetVar: SMS_FAX_FILE=$tiff" "$call" && grep -qx "SetVar: SMS_FAX_OPTIONS=F" "$call"'
check "FAXOPT(ecm)" 'grep -qx "SetVar: FAXOPT(ecm)=yes" "$call"'
check "FAXOPT(localstationid)" 'grep -qx "SetVar: FAXOPT(localstationid)=9001" "$call"'
check "FAXOPT(minrate)/(maxrate)" \
  'grep -qx "SetVar: FAXOPT(minrate)=2400" "$call" && grep -qx "SetVar: FAXOPT(maxrate)=14400" "$call"'
check "MaxRetries from [fax]" 'grep -qx "MaxRetries: 10" "$call"'

# The same message again: a new fax file beside the first, never over it.
sms2fax "${conf[@]}" --from 500100200 --to 600700800 --scts 2026-11-29T22:53:42 \
  --text "other" >"$tmp/stdout2" 2>/dev/null
check "a second fax gets a new name" '[ "$(cat "$tmp/stdout2")" != "$tiff" ]'
check "two faxes in [fax] dir" '[ "$(ls "$tmp/fax" | wc -l)" -eq 2 ]'

# --extension wins over the directory, and needs no directory entry.
rm -f "$tmp"/spool/outgoing/*
sms2fax "${conf[@]}" --from 1 --to 999 --extension DAHDI/4 --output "$tmp/out/e.tiff" \
  --text hi >/dev/null 2>&1
check "--extension sets the channel" 'grep -qx "Channel: DAHDI/4" "$tmp"/spool/outgoing/*'

expect_fail() { # name code args...: exits with code, says "sms2fax: error:", writes nothing
  local name=$1 want=$2
  shift 2
  local before after
  before=$(find "$tmp/out" "$tmp/fax" "$tmp/spool" | sort)
  sms2fax "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local got=$?
  after=$(find "$tmp/out" "$tmp/fax" "$tmp/spool" | sort)
  check "$name: exit $want (got $got: $(head -c 200 "$tmp/stderr"))" '[ $got -eq $want ]'
  check "$name: one error line" 'grep -q "^sms2fax: error: " "$tmp/stderr"'
  check "$name: nothing written" '[ "$before" = "$after" ]'
}
expect_fail "unknown number" 65 "${conf[@]}" --from 1 --to 123 --text hi
expect_fail "bad --scts" 64 "${conf[@]}" --from 1 --to 2 --scts 2026-13-01T00:00:00 --no-call \
  --output "$tmp/out/s.tiff" --text hi
expect_fail "bad --resolution" 64 "${conf[@]}" --from 1 --to 2 --resolution coarse --no-call \
  --output "$tmp/out/s.tiff" --text hi
expect_fail "invalid UTF-8" 65 "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/u.tiff" \
  --text $'bad \xff'

# Over max_pages: a clear error and no file.
sed 's/^\[fax\]$/[fax]\nmax_pages = 2/' "$tmp/sms.conf" >"$tmp/max.conf"
long=$(for i in $(seq 1 300); do echo "line $i"; done)
expect_fail "over max_pages" 65 --config "$tmp/max.conf" --from 1 --to 2 --no-call \
  --output "$tmp/out/long.tiff" --text "$long"
check "over max_pages: says so" 'grep -q "max_pages" "$tmp/stderr"'
wide=$(for i in $(seq 1 60); do printf '%0200d\n' "$i"; done) # under the text limit
expect_fail "over max_pages once wrapped" 65 --config "$tmp/max.conf" --from 1 --to 2 --no-call \
  --output "$tmp/out/wide.tiff" --text "$wide"
check "over max_pages once wrapped: counts the pages" 'grep -q "needs 3 fax pages" "$tmp/stderr"'
sms2fax --config "$tmp/max.conf" --from 1 --to 2 --no-call --output "$tmp/out/two.tiff" \
  --text "$(head -100 <<<"$long")" >/dev/null
check "two pages are within max_pages = 2" \
  '[ "$(tiffinfo "$tmp/out/two.tiff" 2>&1 | grep -c "TIFF Directory")" -eq 2 ]'
rm -f "$tmp/out/two.tiff"

# A huge text is refused before it is expanded: 4 MiB of tabs would be 32 Mi cells.
head -c 4194304 /dev/zero | tr '\0' '\t' >"$tmp/tabs.txt"
expect_fail "4 MiB of tabs" 65 "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/t.tiff" \
  --text - <"$tmp/tabs.txt"

# Directory outage: a temporary failure.
sed "s|^sqlite_path = .*|sqlite_path = $tmp/missing/dir.db|" "$tmp/sms.conf" >"$tmp/down.conf"
expect_fail "directory unavailable" 75 --config "$tmp/down.conf" --from 1 --to 600700800 --text hi

# Output folders that cannot be written: exit 73, nothing left behind.
expect_fail "missing output folder" 73 "${conf[@]}" --from 1 --to 2 --no-call \
  --output "$tmp/out/nope/x.tiff" --text hi
touch "$tmp/out/plainfile"
expect_fail "output folder is a file" 73 "${conf[@]}" --from 1 --to 2 --no-call \
  --output "$tmp/out/plainfile/x.tiff" --text hi
if [ "$(id -u)" -ne 0 ]; then
  mkdir "$tmp/out/ro" && chmod 500 "$tmp/out/ro"
  expect_fail "read-only output folder" 73 "${conf[@]}" --from 1 --to 2 --no-call \
    --output "$tmp/out/ro/x.tiff" --text hi
fi
# A write cut short half-way (the file size limit stands in for a full disk): the temporary
# file is removed.
(
  trap '' XFSZ
  ulimit -f 4
  sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/big.tiff" \
    --text "$long" >"$tmp/stdout" 2>"$tmp/stderr"
  echo $? >"$tmp/rc"
)
check "write cut short: exit 73 (got $(cat "$tmp/rc"): $(cat "$tmp/stderr"))" \
  '[ "$(cat "$tmp/rc")" -eq 73 ]'
check "write cut short: nothing left" '[ -z "$(find "$tmp/out" -name "*big*")" ]'

# --- pictures, preview, fallback fonts ----------------------------------------------------------
# A text fax never loads the picture module (ImageMagick), nor does the router.
LD_DEBUG=files sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/plain.tiff" \
  --text "plain text" >/dev/null 2>"$tmp/ld"
check "text-only sms2fax loads no picture module" \
  '! grep -q -e "sms-fax-image" -e "libMagick" "$tmp/ld" && grep -q "libtiff" "$tmp/ld"'
LD_DEBUG=files sms-process --help >/dev/null 2>"$tmp/ld"
check "sms-process loads no picture module" '! grep -q -e "sms-fax-image" -e "libMagick" "$tmp/ld"'

# Pictures made here: a grey PNG (300 x 200), a bomb (a PNG header claiming 50,000 x 50,000), a
# PDF.
python3 - "$tmp" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
def png(path, w, h, rows, depth=8):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                           chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
png(d + "/grey.png", 300, 200, b"".join(b"\0" + bytes([y * 255 // 200] * 300) for y in range(200)))
png(d + "/bomb.png", 50000, 50000, b"\0" * (1000 * 6251), depth=1)
open(d + "/doc.pdf", "w").write("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PY
sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/pic.tiff" --text "Cover" \
  --image "$tmp/grey.png" --preview "$tmp/out/pic.png" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
check "--image with --text and --preview exits 0 (got $rc: $(cat "$tmp/stderr"))" '[ $rc -eq 0 ]'
check "prints the TIFF and the preview" \
  '[ "$(cat "$tmp/stdout")" = "$tmp/out/pic.tiff"$'"'"'\n'"'"'"$tmp/out/pic.png" ]'
check "two pages: the cover and the picture" \
  '[ "$(tiffinfo "$tmp/out/pic.tiff" 2>/dev/null | grep -c "Image Width: 1728")" -eq 2 ]'
check "the preview is a PNG 1728 wide" \
  'file "$tmp/out/pic.png" | grep -q "PNG image data, 1728 x [0-9]*, 8-bit grayscale"'
rm -f "$tmp/out/only.png"
sms2fax "${conf[@]}" --from 1 --to 2 --no-call --image "$tmp/grey.png" \
  --preview "$tmp/out/only.png" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
check "--preview with --no-call and no --output: the PNG only" \
  '[ "$(cat "$tmp/stdout")" = "$tmp/out/only.png" ] && [ -s "$tmp/out/only.png" ] && ! ls "$tmp/fax" 2>/dev/null | grep -q "fax-1-2"'

sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/bomb.tiff" \
  --image "$tmp/bomb.png" >/dev/null 2>"$tmp/stderr"
rc=$?
check "image bomb: exit 65 (got $rc)" '[ $rc -eq 65 ]'
check "image bomb: names the limit ($(cat "$tmp/stderr"))" 'grep -q "image_max_width = 16384" "$tmp/stderr"'
check "image bomb: nothing written" '[ ! -e "$tmp/out/bomb.tiff" ]'
sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/pdf.tiff" \
  --image "$tmp/doc.pdf" >/dev/null 2>"$tmp/stderr"
rc=$?
check "PDF: exit 65 (got $rc)" '[ $rc -eq 65 ]'
check "PDF: refused by its bytes, saying so ($(cat "$tmp/stderr"))" 'grep -q "a PDF document" "$tmp/stderr"'

# Nothing but a regular file is read: a FIFO with no writer and /dev/zero are refused at once
# (timeout: a blocking open or an endless read fails the test instead of hanging it).
mkfifo "$tmp/fifo.png"
for f in "$tmp/fifo.png" /dev/zero; do
  timeout 20 sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/f.tiff" \
    --image "$f" >/dev/null 2>"$tmp/stderr"
  rc=$?
  check "--image $f: exit 65 at once, naming it ($rc: $(cat "$tmp/stderr"))" \
    '[ $rc -eq 65 ] && grep -q "$f: .*not a regular file" "$tmp/stderr"'
done
sed "s|^\[fax\]\$|[fax]\nlogo = $tmp/fifo.png|" "$tmp/sms.conf" >"$tmp/fifo-logo.conf"
timeout 20 sms2fax --config "$tmp/fifo-logo.conf" --from 1 --to 2 --no-call \
  --output "$tmp/out/f.tiff" --text x >/dev/null 2>"$tmp/stderr"
rc=$?
check "a FIFO as [fax] logo: exit 78 at once, naming it ($rc: $(cat "$tmp/stderr"))" \
  '[ $rc -eq 78 ] && grep -q "\[fax\] logo $tmp/fifo.png.*a FIFO" "$tmp/stderr"'
mkdir -p "$tmp/fifo-spool/sms/morx"
printf 'oa=500\nda=600700800\nscts=2026-12-01T10:00:00\nud=x\n' >"$tmp/fifo-spool/sms/morx/m1"
timeout 20 sms-process --config "$tmp/fifo-logo.conf" --spool "$tmp/fifo-spool" >/dev/null 2>"$tmp/stderr"
rc=$?
check "sms-process with a FIFO as logo: exit 78 at once, the message kept ($rc: $(cat "$tmp/stderr"))" \
  '[ $rc -eq 78 ] && [ -f "$tmp/fifo-spool/sms/morx/m1" ]'

# 40,000 frames of 1 x 1 (600 kB): refused from the count before a frame is decoded, in little
# memory (the time is printed, not asserted).
python3 -c "
import sys
frame = bytes.fromhex('2c0000000001000100000202440100')
sys.stdout.buffer.write(b'GIF89a' + bytes.fromhex('01000100800000000000ffffff') + frame * 40000 + b';')
" >"$tmp/many.gif"
/usr/bin/time -v sms2fax "${conf[@]}" --from 1 --to 2 --no-call --output "$tmp/out/many.tiff" \
  --image "$tmp/many.gif" >/dev/null 2>"$tmp/stderr"
rc=$?
rss=$(awk '/Maximum resident/ {print $6}' "$tmp/stderr")
echo "40,000-frame GIF: $(awk -F': ' '/Elapsed/ {print $2}' "$tmp/stderr") elapsed, ${rss} KiB peak"
check "40,000-frame GIF: exit 65 naming max_pages ($rc: $(head -1 "$tmp/stderr"))" \
  '[ $rc -eq 65 ] && grep -q "40000 frames.*max_pages = 10" "$tmp/stderr"'
# The limit is the product's: AddressSanitizer's shadow memory and quarantine add megabytes of
# their own, so a sanitized build is only held to the refusal above.
if readelf -d "$(command -v sms2fax)" | grep -q 'libasan'; then
  echo "40,000-frame GIF: peak memory not judged (AddressSanitizer build)"
else
  check "40,000-frame GIF: peak memory under 64 MiB (${rss} KiB)" '[ "${rss:-999999}" -lt 65536 ]'
fi

# CJK and emoji from the fallback fonts: not one replacement logged.
sms2fax "${conf[@]}" -v --from 1 --to 2 --no-call --output "$tmp/out/cjk.tiff" \
  --text "会议改到明天 👍" >/dev/null 2>"$tmp/stderr"
check "CJK and emoji: exit 0, nothing missing ($(cat "$tmp/stderr"))" \
  '[ -s "$tmp/out/cjk.tiff" ] && ! grep -q "U+FFFD" "$tmp/stderr"'
sed 's/^\[fax\]$/[fax]\nfallback_fonts =/' "$tmp/sms.conf" >"$tmp/nofallback-all.conf"
sms2fax --config "$tmp/nofallback-all.conf" -v --from 1 --to 2 --no-call \
  --output "$tmp/out/cjk2.tiff" --text "会议 👍" >/dev/null 2>"$tmp/stderr"
check "without fallback fonts: the missing characters logged once ($(cat "$tmp/stderr"))" \
  '[ "$(grep -c "U+4F1A U+8BAE U+1F44D" "$tmp/stderr")" -eq 1 ]'

exit $fail
