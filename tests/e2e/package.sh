#!/usr/bin/env bash
# scripts/package.sh on the built tree (e2e.package-build) makes a Debian package that holds every registered tool in
# /usr/bin, every man page gzipped, the modules where the tools look for them, the units, the
# examples, the conffile (0640), copyright and changelog; whose Depends come from what the
# binaries link and whose modules' libraries are only Recommends/Suggests; whose maintainer
# scripts and md5sums are sound; and on which lintian reports no error and no warning but those
# listed below. Nothing is installed on this machine.
set -uo pipefail

: "${SMS_BUILD_DIR:?}" "${SMS_SOURCE_DIR:?}" "${SMS_TOOL_PAGES:?}"
for tool in dpkg-deb objdump lintian; do
  command -v "$tool" >/dev/null || {
    echo "skip: $tool not installed (scripts/install-deps.sh)"
    exit 77
  }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Made by e2e.package-build (scripts/package.sh --fast on this build).
deb=$(find "$SMS_BUILD_DIR/test-package" -name '*.deb' 2>/dev/null)
[[ -f $deb ]] || {
  echo "FAIL: no package in $SMS_BUILD_DIR/test-package (e2e.package-build made none)"
  exit 1
}
version=$(<"$SMS_BUILD_DIR/version.txt")
arch=$(dpkg --print-architecture)
[[ $(basename "$deb") == "sms-suite_${version}_${arch}.deb" ]] ||
  fail "package named $(basename "$deb"), not sms-suite_${version}_${arch}.deb"

# --- dpkg-deb -c: the files, their modes and owners ----------------------------------------------
# "MODE OWNER/GROUP SIZE DATE TIME ./PATH" -> "MODE OWNER PATH" for files, links and directories.
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print $1, $2, p }' >"$work/contents"
has() { # has MODE PATH: PATH is in the package, owned by root, with MODE
  grep -qxF -- "$1 root/root $2" "$work/contents" ||
    fail "$2: not in the package as $1 root/root ($(grep -F " $2" "$work/contents" | head -1))"
}
for page in $SMS_TOOL_PAGES; do
  has -rwxr-xr-x "/usr/bin/${page%.*}"
done
if [[ ${SMS_MAN_BUILT:-0} == 1 ]]; then
  for page in $SMS_TOOL_PAGES sms-suite.conf.5 sms-suite.7; do
    has -rw-r--r-- "/usr/share/man/man${page##*.}/$page.gz"
  done
fi
for module in ${SMS_MODULES:-}; do
  has -rw-r--r-- "/usr/lib/sms-suite/$module"
done
for unit in "$SMS_SOURCE_DIR"/examples/systemd/*; do
  has -rw-r--r-- "/usr/lib/systemd/system/$(basename "$unit")"
done
for f in extensions.conf sms-suite.conf schema-sqlite.sql schema-mysql.sql crontab; do
  has -rw-r--r-- "/usr/share/doc/sms-suite/examples/$f"
done
has -rw-r--r-- /usr/share/doc/sms-suite/copyright
has -rw-r--r-- /usr/share/doc/sms-suite/changelog.gz
has -rw-r----- /etc/asterisk/sms-suite.conf
# Nothing else: no /usr/local, no build path, nothing under /var (the administrator's data).
outside=$(awk '$1 !~ /^d/ { print $3 }' "$work/contents" |
  grep -vE '^/usr/(bin|share/man/man[1-8]|share/doc/sms-suite|lib/sms-suite|lib/systemd/system)/' |
  grep -vxF /etc/asterisk/sms-suite.conf)
[[ -z $outside ]] || fail "files outside the package's places:"$'\n'"$outside"

mkdir "$work/x"
dpkg-deb -x "$deb" "$work/x"
for bin in "$work"/x/usr/bin/*; do
  file -b "$bin" | grep -q 'not stripped' && fail "${bin#"$work"/x}: not stripped"
done
cmp -s "$work/x/etc/asterisk/sms-suite.conf" "$SMS_SOURCE_DIR/examples/sms-suite.conf" ||
  fail "/etc/asterisk/sms-suite.conf is not examples/sms-suite.conf"
grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
  "$work/x/usr/share/doc/sms-suite/copyright" || fail "copyright is not machine-readable (DEP-5)"
for f in "$work"/x/usr/lib/systemd/system/*.service; do
  grep -qx 'ExecStart=/usr/bin/sms-process' "$f" || fail "${f#"$work"/x}: ExecStart not /usr/bin"
done

# --- dpkg-deb -f: the control fields -------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == sms-suite ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version: $(field Version), project $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture: $(field Architecture)"
relations=$(dpkg-deb -f "$deb" Depends Recommends Suggests Pre-Depends)
grep -q -- '-dev\b' <<<"$relations" && fail "a -dev package among the relations: $relations"
needed() { objdump -p "$1" | awk '$1 == "NEEDED" { print $2 }'; }
# Every library a tool or module links and the package that holds it (one dpkg -S for all: each
# call reads every file list). dpkg knows a library by /lib/... or /usr/lib/... of its package.
for f in "$work"/x/usr/bin/* "$work"/x/usr/lib/sms-suite/*; do needed "$f"; done | sort -u >"$work/libs"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
mapfile -t paths < <(sed "s|^|/lib/$multiarch/|; p; s|^/lib/|/usr/lib/|" "$work/libs")
dpkg -S "${paths[@]}" 2>/dev/null | sed -E 's/:[a-z0-9]+: /: /' |
  awk -F': ' '{ n = split($2, p, "/"); print p[n], $1 }' | sort -u >"$work/lib-packages"
package_of() { awk -v lib="$1" '$1 == lib { print $2; exit }' "$work/lib-packages"; }
in_field() { # in_field PACKAGE FIELD...: PACKAGE is named in one of the fields
  dpkg-deb -f "$deb" "${@:2}" | sed 's/^[A-Za-z-]*: //' | tr ',' '\n' | awk '{ print $1 }' |
    grep -qxF -- "$1"
}
# Every library a tool links: its package in Depends.
for bin in "$work"/x/usr/bin/*; do needed "$bin"; done | sort -u >"$work/tool-libs"
while read -r lib; do
  pkg=$(package_of "$lib")
  [[ -n $pkg ]] || fail "no package holds $lib (linked by a tool)"
  in_field "$pkg" Depends || fail "Depends lacks $pkg ($lib, linked by a tool)"
done <"$work/tool-libs"
# A library only modules link: in the field a module registered (or a stronger one, for a library
# two modules share), never in Depends; and the description says why each module is there.
while IFS=$'\t' read -r file want why; do
  [[ -n $file ]] || continue
  fields=(Recommends)
  [[ $want == Suggests ]] && fields+=(Suggests)
  while read -r lib; do
    grep -qxF "$lib" "$work/tool-libs" && continue
    pkg=$(package_of "$lib")
    [[ -n $pkg ]] || fail "no package holds $lib (linked by $file)"
    in_field "$pkg" "${fields[@]}" || fail "${fields[*]} lack $pkg ($lib, linked by $file)"
    in_field "$pkg" Depends && fail "Depends has $pkg, which only modules link ($file)"
  done < <(needed "$work/x/usr/lib/sms-suite/$file")
  field Description | tr -s ' \n' ' ' | grep -qF -- "${why:0:40}" ||
    fail "Description does not say why $file: $why"
done <"$SMS_BUILD_DIR/modules.txt"

# --- dpkg-deb -e: the control files ---------------------------------------------------------------
dpkg-deb -e "$deb" "$work/control"
[[ $(<"$work/control/conffiles") == /etc/asterisk/sms-suite.conf ]] ||
  fail "conffiles: $(<"$work/control/conffiles")"
for script in postinst prerm postrm; do
  [[ -x $work/control/$script ]] || fail "$script missing or not executable"
  sh -n "$work/control/$script" || fail "$script: sh -n"
done
(cd "$work/x" && md5sum --quiet -c "$work/control/md5sums") || fail "md5sums do not match"
files=$(cd "$work/x" && find usr -type f | wc -l)
[[ $(wc -l <"$work/control/md5sums") == "$files" ]] || fail "md5sums lists not every file of usr/"

# --- lintian -------------------------------------------------------------------------------------
# Warnings left, each for a reason (every other warning and every error fails the test):
allowed=(
  # /etc/asterisk/sms-suite.conf is 0640: it may hold the directory's password and the manager's
  # secret, and the tools refuse such a file readable by others (postinst gives it group asterisk).
  non-standard-file-perm
)
lintian --no-cfg --tag-display-limit 0 "$deb" >"$work/lintian" 2>&1
grep -E '^[EW]: ' "$work/lintian" | while read -r line; do
  tag=$(awk '{ print $3 }' <<<"$line")
  if [[ $line == E:* ]] || ! printf '%s\n' "${allowed[@]}" | grep -qxF -- "$tag"; then
    echo "$line"
  fi
done >"$work/lintian-bad"
[[ -s $work/lintian-bad ]] && fail "lintian:"$'\n'"$(<"$work/lintian-bad")"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: $(basename "$deb"): $(grep -vc '^d' "$work/contents") files, control fields, lintian"
