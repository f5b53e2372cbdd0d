#!/usr/bin/env bash
# cmake --install into a temporary prefix puts exactly the expected files in the usual places:
# the binaries in bin/, the man pages gzipped in share/man/manN/, README, ARCHITECTURE and the
# examples in share/doc/sms-suite/, the systemd units in lib/systemd/system/ naming the installed
# binary; and what is installed works from there.
set -uo pipefail

: "${SMS_BUILD_DIR:?}" "${SMS_SOURCE_DIR:?}" "${SMS_TOOL_PAGES:?}"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

if ! cmake --install "$SMS_BUILD_DIR" --prefix "$prefix" >"$prefix.log" 2>&1; then
  cat "$prefix.log"
  rm -f "$prefix.log"
  echo "FAIL: cmake --install failed (is everything built?)"
  exit 1
fi
rm -f "$prefix.log"

# --- the expected list -------------------------------------------------------------------------
docdir=share/doc/sms-suite
expected=$(mktemp)
trap 'rm -rf "$prefix" "$expected"' EXIT
{
  for page in $SMS_TOOL_PAGES; do
    echo "bin/${page%.*}"
  done
  if [[ ${SMS_MAN_BUILT:-0} == 1 ]]; then
    for page in $SMS_TOOL_PAGES sms-suite.conf.5 sms-suite.7; do
      echo "share/man/man${page##*.}/$page.gz"
    done
  else
    echo "note: man pages not built (no pandoc): not expected" >&2
  fi
  echo "$docdir/README.md"
  echo "$docdir/ARCHITECTURE.md"
  (cd "$SMS_SOURCE_DIR/examples" && find . -type f -not -path './systemd/*' |
    sed "s|^\./|$docdir/examples/|")
  (cd "$SMS_SOURCE_DIR/examples/systemd" && find . -type f | sed "s|^\./|lib/systemd/system/|")
} | sort >"$expected"

installed=$(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | sort)
# The modules the tools load with dlopen() (SMS_MODULES: their file names) go into a lib folder
# (lib/, lib64/ or lib/<triplet>/, perhaps in a subfolder of its own): each exactly once.
for module in ${SMS_MODULES:-}; do
  found=$(grep -E "^lib[^/]*/(.*/)?${module//./\\.}\$" <<<"$installed")
  if [[ $(grep -c . <<<"$found") != 1 ]]; then
    fail "module $module: installed ${found:-nowhere}"$'\n'"(expected once, under lib*/)"
  fi
  installed=$(grep -vxF -- "$found" <<<"$installed")
done
if ! d=$(diff "$expected" <(echo "$installed")); then
  fail "installed files differ from the expected list (< expected, > installed):"$'\n'"$d"
fi

# The examples an administrator is told about are among them.
for f in sms-suite.conf extensions.conf schema-sqlite.sql schema-mysql.sql directory-sample.sql \
  crontab; do
  [[ -f $prefix/$docdir/examples/$f ]] || fail "example $f not installed"
done
for f in sms-process.service sms-process.path sms-process-sweep.service sms-process-sweep.timer; do
  [[ -f $prefix/lib/systemd/system/$f ]] || fail "unit $f not installed"
done
for f in "$prefix"/share/man/man*/*.gz; do
  [[ -e $f ]] || continue
  gzip -t "$f" 2>/dev/null || fail "${f#"$prefix"/}: not gzip"
done
for f in README.md ARCHITECTURE.md; do
  [[ -s $prefix/$docdir/$f ]] || fail "$f is empty"
done

# --- what is installed works -------------------------------------------------------------------
for page in $SMS_TOOL_PAGES; do
  tool=${page%.*}
  bin=$prefix/bin/$tool
  [[ -x $bin ]] || { fail "bin/$tool is not executable"; continue; }
  # Run from elsewhere, with no build tree on PATH: nothing may depend on the build folder.
  out=$(cd / && env -i PATH=/usr/bin:/bin "$bin" --version 2>&1) || fail "bin/$tool --version: $out"
  grep -q "$tool" <<<"$out" || fail "bin/$tool --version does not name the tool: $out"
done
if [[ ${SMS_MAN_BUILT:-0} == 1 ]] && command -v man >/dev/null; then
  # man finds the pages through the prefix's share/man, by name and section.
  for page in $SMS_TOOL_PAGES sms-suite.conf.5 sms-suite.7; do
    name=${page%.*} sec=${page##*.}
    where=$(MANPATH=$prefix/share/man man -w "$sec" "$name" 2>&1) ||
      fail "man -w $sec $name with MANPATH=<prefix>/share/man: $where"
    [[ $where == "$prefix"/* ]] || fail "man $sec $name found $where, not the installed page"
  done
fi
# Each installed service runs the installed binary, not the examples' /usr/local/bin.
for f in "$prefix"/lib/systemd/system/*.service; do
  [[ -e $f ]] || continue
  exec=$(sed -n 's/^ExecStart=//p' "$f")
  [[ $exec == "$prefix/bin/"* && -x ${exec%% *} ]] ||
    fail "${f#"$prefix"/}: ExecStart=$exec is not an installed binary"
done
# The installed systemd units are well-formed (when systemd-analyze is there to say so).
if command -v systemd-analyze >/dev/null; then
  units=$(mktemp -d)
  cp "$prefix/lib/systemd/system/"* "$units/"
  # Warnings (an unknown key, say) do not change its exit status: any line about our units
  # counts. Lines about nothing of ours (a container without a system manager) are only noted.
  out=$(cd "$units" && systemd-analyze verify --man=no ./*.service ./*.path ./*.timer 2>&1)
  if grep -q 'sms-process' <<<"$out"; then
    fail "systemd-analyze verify:"$'\n'"$out"
  elif [[ -n $out ]]; then
    echo "note: systemd-analyze verify: $out"
  fi
  rm -rf "$units"
fi

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: $(wc -l <"$expected") files installed where expected"
