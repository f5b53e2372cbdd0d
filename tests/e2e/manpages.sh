#!/usr/bin/env bash
# The man pages stay honest: every long option a tool's --help prints is in its page's OPTIONS
# (and every one the page lists is real), every key the config reader accepts is documented in
# sms-suite.conf(5) and examples/sms-suite.conf (whose defaults must be the reader's), and
# mandoc -Tlint and groff (man --warnings) have nothing to say about any page.
set -uo pipefail

: "${SMS_MAN_DIR:?}" "${SMS_TOOL_PAGES:?}" "${SMS_CONFIG_DOC:?}" "${SMS_SOURCE_DIR:?}"
if [[ ${SMS_MAN_BUILT:-0} != 1 ]]; then
  echo "SKIP: the man pages were not built (pandoc was missing at configure time)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# A page as plain text: wide, so that no option is broken across lines.
render() {
  mandoc -Tascii -Owidth=250 "$1" | col -bx
}

# The lines of one section (.SH) of rendered text: from the heading to the next heading.
section() { # FILE HEADING
  awk -v h="$2" '/^[A-Z]/ { on = ($0 == h); next } on' "$1"
}

long_options() {
  grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' | sort -u
}

all_pages=(sms-suite.conf.5 sms-suite.7)
for page in $SMS_TOOL_PAGES; do
  all_pages+=("$page")
done

# --- every page exists and lints clean ---------------------------------------------------------
# mandoc at -W all (style included) and groff's warnings, as "man -l" shows them. The render step
# (man/render.sh) fixes what pandoc 2.17 writes that mandoc warns about, so nothing is allowed
# through here.
for page in "${all_pages[@]}"; do
  file=$SMS_MAN_DIR/$page
  if [[ ! -s $file ]]; then
    fail "$page: not built (no man/$page.md?)"
    continue
  fi
  lint=$(mandoc -Tlint -W all "$file" 2>&1)
  [[ -z $lint ]] || fail "$page: mandoc -Tlint:"$'\n'"$lint"
  if command -v man >/dev/null; then
    warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$file" 2>&1 >/dev/null)
    [[ -z $warn ]] || fail "$page: man --warnings:"$'\n'"$warn"
  else
    echo "note: man (man-db) not installed: groff warnings not checked"
  fi
  # mandb reads the NAME line for whatis/apropos; it must parse.
  if command -v lexgrog >/dev/null; then
    lexgrog "$file" >/dev/null 2>&1 || fail "$page: lexgrog (whatis) cannot parse its NAME"
  fi
  render "$file" >"$tmp/$page.txt"
done

# --- the sections every page has ---------------------------------------------------------------
for page in "${all_pages[@]}"; do
  txt=$tmp/$page.txt
  [[ -f $txt ]] || continue
  required=(NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO")
  case $page in
    sms-suite.conf.5 | sms-suite.7) ;;
    *) required+=(OPTIONS "EXIT STATUS") ;;
  esac
  for h in "${required[@]}"; do
    grep -qx "$h" "$txt" || fail "$page: no $h section"
  done
done

# --- NAME says which page it is; references to the suite's pages have the right section -------
for page in "${all_pages[@]}"; do
  txt=$tmp/$page.txt
  [[ -f $txt ]] || continue
  name=${page%.*}
  section "$txt" NAME | grep -qE "^ +$name - " || fail "$page: NAME does not start with '$name - '"
  for ref in $(grep -oE '[a-z0-9.-]+\([1-8]\)' "$txt" | sort -u); do
    rname=${ref%(*} rsec=${ref#*(} rsec=${rsec%)}
    for known in "${all_pages[@]}"; do
      if [[ ${known%.*} == "$rname" && ${known##*.} != "$rsec" ]]; then
        fail "$page: refers to $ref, but the page is $rname(${known##*.})"
      fi
    done
  done
done

# --- options: --help against OPTIONS, both ways ------------------------------------------------
for page in $SMS_TOOL_PAGES; do
  tool=${page%.*}
  txt=$tmp/$page.txt
  [[ -f $txt ]] || continue
  if ! help=$("$tool" --help 2>&1); then
    fail "$tool --help failed: $help"
    continue
  fi
  section "$txt" OPTIONS >"$tmp/$tool.options"
  [[ -s $tmp/$tool.options ]] || fail "$page: empty OPTIONS section"
  in_help=$(long_options <<<"$help")
  in_page=$(long_options <"$tmp/$tool.options")
  [[ -n $in_help ]] || fail "$tool --help lists no long option"
  for opt in $in_help; do
    grep -qx -- "$opt" <<<"$in_page" || fail "$page: OPTIONS does not document $opt ($tool --help has it)"
  done
  for opt in $in_page; do
    grep -qx -- "$opt" <<<"$in_help" || fail "$page: OPTIONS documents $opt, which $tool --help does not have"
  done
  # Positional arguments (the Usage: line's upper-case words) are in the synopsis.
  for arg in $(grep -m1 '^Usage:' <<<"$help" | grep -oE '\b[A-Z][A-Z_]+\b' | grep -vx OPTIONS); do
    section "$txt" SYNOPSIS | grep -qw -- "$arg" || fail "$page: SYNOPSIS does not show $arg ($tool --help has it)"
  done
  # The synopsis names no option the tool lacks.
  for opt in $(section "$txt" SYNOPSIS | long_options); do
    grep -qx -- "$opt" <<<"$in_help" || fail "$page: SYNOPSIS shows $opt, which $tool --help does not have"
  done
done

# --- command lines shown in the pages and the README use only real options ----------------------
# A line that runs one of the tools (at its start, or after "sudo -u asterisk", "$ " or "| "),
# with its "\" continuation lines: every --option on it must be in that tool's --help. One
# process reads every page and the README (a process per line and tool took minutes).
for page in $SMS_TOOL_PAGES; do
  tool=${page%.*}
  echo "$tool" $("$tool" --help 2>/dev/null | long_options)
done >"$tmp/tool-options"
command_files=()
for page in "${all_pages[@]}"; do
  [[ -f $tmp/$page.txt ]] && command_files+=("$page=$tmp/$page.txt")
done
command_files+=("README.md=$SMS_SOURCE_DIR/README.md")
bad=$(python3 - "$tmp/tool-options" "${command_files[@]}" <<'PY'
import re, sys

long_option = re.compile(r"--[a-z][a-z0-9-]*[a-z0-9]")
options = {}
for line in open(sys.argv[1], encoding="utf-8"):
    tool, *opts = line.split()
    options[tool] = set(opts)
# A command, not prose: the tool's first argument is an option or a number.
commands = {tool: re.compile(r"^(?:[\s$>|]*|.*[|;&] *)(?:sudo -u asterisk +)?" + re.escape(tool) + r" ([-0-9].*)$")
            for tool in options}
for arg in sys.argv[2:]:
    label, path = arg.split("=", 1)
    lines, buf = [], None
    for line in open(path, encoding="utf-8").read().split("\n"):
        buf = line if buf is None else buf + " " + line
        if not line.endswith("\\"):
            lines.append(buf)
            buf = None
    if buf is not None:
        lines.append(buf)
    for l in lines:
        for tool in sorted(options):
            m = commands[tool].match(l)
            if not m:
                continue
            for opt in sorted(set(long_option.findall(m.group(1)))):
                if opt not in options[tool]:
                    print(f"{label}: '{tool} {opt}' in: {l}")
PY
) || fail "the command-line check did not run"
[[ -z $bad ]] || fail "an option the tool does not have:"$'\n'"$bad"

# --- README and ARCHITECTURE point at files that exist ------------------------------------------
for doc in README.md ARCHITECTURE.md; do
  for path in $(grep -oE '\bexamples/[A-Za-z0-9_./-]*[A-Za-z0-9_]' "$SMS_SOURCE_DIR/$doc" | sort -u); do
    [[ -e $SMS_SOURCE_DIR/$path ]] || fail "$doc mentions $path, which does not exist"
  done
done
# README opens with the two commands that do everything.
head -12 "$SMS_SOURCE_DIR/README.md" | grep -q '^scripts/demo.sh' || fail "README.md does not open with scripts/demo.sh"
head -12 "$SMS_SOURCE_DIR/README.md" | grep -q '^scripts/test.sh' || fail "README.md does not open with scripts/test.sh"

# --- config keys: the reader's list against sms-suite.conf(5) and the example ------------------
if ! "$SMS_CONFIG_DOC" keys >"$tmp/keys"; then
  fail "config_doc keys failed"
fi
[[ $(wc -l <"$tmp/keys") -gt 50 ]] || fail "config_doc keys: suspiciously few keys ($(wc -l <"$tmp/keys"))"

# In the page each section is a subsection "[name]" and each key an item "key = default".
conf_txt=$tmp/sms-suite.conf.5.txt
example=$SMS_SOURCE_DIR/examples/sms-suite.conf
[[ -f $example ]] || fail "examples/sms-suite.conf is missing"
while IFS=. read -r sec key; do
  if [[ -f $conf_txt ]]; then
    awk -v s="[$sec]" -v k="$key" '
      /^   \[[a-z]+\]$/ { on = ($1 == s); next }
      /^[A-Z]/ { on = 0 }
      on && $1 == k && $2 == "=" { found = 1 }
      END { exit !found }' "$conf_txt" ||
      fail "sms-suite.conf(5): [$sec] $key is not documented (as \"$key = <default>\" under [$sec])"
  fi
  if [[ -f $example ]]; then
    # In the example a setting is "key = value" or, left at its default, ";key = value".
    awk -v s="[$sec]" -v k="$key" '
      /^\[[a-z]+\]/ { on = ($1 == s); next }
      on && $0 ~ "^;?" k " *=" { found = 1 }
      END { exit !found }' "$example" ||
      fail "examples/sms-suite.conf: [$sec] $key is missing"
  fi
done <"$tmp/keys"

# The example is a valid file, and with every ";key = value" line turned on it still gives
# exactly the built-in defaults: the values it shows are the real defaults.
if [[ -f $example ]]; then
  "$SMS_CONFIG_DOC" dump "$example" >"$tmp/example.dump" ||
    fail "examples/sms-suite.conf does not parse"
  sed -E 's/^;([A-Za-z_][A-Za-z0-9_-]*[[:space:]]*=)/\1/' "$example" >"$tmp/all-on.conf"
  "$SMS_CONFIG_DOC" defaults >"$tmp/defaults.dump"
  if "$SMS_CONFIG_DOC" dump "$tmp/all-on.conf" >"$tmp/all-on.dump"; then
    d=$(diff "$tmp/defaults.dump" "$tmp/all-on.dump") ||
      fail "examples/sms-suite.conf: a commented value is not the default (< default, > example):"$'\n'"$d"
  else
    fail "examples/sms-suite.conf with every ;key = value line enabled does not parse"
  fi
  # The dump covers every key the reader has (so the comparison above covers them all).
  d=$(diff <(sort "$tmp/keys") <(cut -d= -f1 "$tmp/defaults.dump" | sort)) ||
    fail "tests/docs/config_doc.cpp does not dump every key (update it):"$'\n'"$d"
fi

# --- sms2fax(1) says which font it uses and how to change it -----------------------------------
if [[ -f $tmp/sms2fax.1.txt ]]; then
  grep -q 'DejaVu Sans Mono' "$tmp/sms2fax.1.txt" || fail "sms2fax(1) does not name the font"
  grep -q 'DejaVuSansMono.ttf' "$tmp/sms2fax.1.txt" || fail "sms2fax(1) does not give the font file"
  grep -qE 'font = ' "$tmp/sms2fax.1.txt" || fail "sms2fax(1) does not show how to set [fax] font"
fi

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: ${#all_pages[@]} pages, $(wc -l <"$tmp/keys") config keys"
