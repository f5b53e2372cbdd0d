#!/usr/bin/env bash
# Renders one man page: Markdown source + included fragments -> pandoc -> roff that mandoc and
# groff read without warnings.
# Usage: render.sh PANDOC SOURCE.md OUTPUT VERSION DATE
set -euo pipefail
pandoc=$1 source=$2 output=$3 version=$4 date=$5
here=$(dirname "$source")
page=$(basename "$output")      # e.g. sms-process.8 or sms-suite.conf.5
section=${page##*.}
title=${page%.*}

# Shared fragments are pulled in where a line says <!-- include common/NAME.md -->; a missing
# fragment is an error, not a silently shorter page.
expanded=$output.md
awk -v dir="$here" '
  /^<!-- include [^ ]+ -->$/ {
    file = dir "/" $3
    n = 0
    while ((getline line < file) > 0) { print line; n++ }
    close(file)
    if (n == 0) { print "render.sh: empty or missing fragment " file > "/dev/stderr"; exit 1 }
    next
  }
  { print }
' "$source" >"$expanded"

# -smart: "--option" must stay two hyphens, not become an en dash; no TeX: "${VAR}" and "$[...]"
# of dialplan examples are text, not maths.
"$pandoc" -f markdown-smart-tex_math_dollars-raw_tex -t man -s \
  -M title="${title^^}" -M section="$section" -M date="$date" \
  -M header="sms-suite manual" -M footer="sms-suite $version" \
  -o "$output.tmp" "$expanded"

# Fix-ups for what pandoc 2.17 writes and mandoc -Tlint reports:
# - the V (verbatim) and C fonts are groff-only: inline code becomes bold, code blocks roman;
# - pandoc names c-acute \['c], which mandoc does not know: its code point instead;
# - ".PP" right after ".SH"/".SS" is a paragraph macro mandoc skips (and warns about);
# - "-" in text is a hyphen to groff; options and command lines need "\-" (a real minus), so
#   every "-" outside request lines is escaped (existing "\-" kept as they are, and special
#   characters such as \[->] put back).
sed -e 's/\\f\[V\]/\\f[B]/g; s/\\f\[C\]/\\f[R]/g' \
    -e "s/\\\\\\['c\\]/\\\\[u0107]/g; s/\\\\\\['C\\]/\\\\[u0106]/g" \
    -e '/^\.S[HS] /{n;/^\.PP$/d;}' \
    -e '/^[.'"'"']/!{s/\\-/\x01/g;s/-/\\-/g;s/\x01/\\-/g;s/\\\[\\-/\\[-/g;s/\\-\]/-]/g;}' \
    "$output.tmp" >"$output"
rm -f "$output.tmp"
