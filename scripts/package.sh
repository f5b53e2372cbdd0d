#!/usr/bin/env bash
# Builds the Debian package sms-suite_<version>_<arch>.deb from what the build installs (every
# tool sms_add_tool registered, its man page, the modules, the units, the examples), plus the
# conffile /etc/asterisk/sms-suite.conf, the copyright, a changelog and the maintainer scripts
# of scripts/deb/. Prints the package's path on its last line.
#
# Usage: scripts/package.sh [--build-dir DIR] [--out DIR] [--fast]
#   without --build-dir: installs what it needs (scripts/install-deps.sh --package), configures
#   and builds the release preset (build/release);
#   --build-dir DIR: packages that tree as it is built (the tests package the dev build);
#   --out DIR: where the package goes (default build/);
#   --fast: gzip -1 instead of xz (a second instead of a minute; for tests, which look inside).
# Maintainer field: $DEBFULLNAME <$DEBEMAIL> when set, else the author of the last commit.
set -euo pipefail
umask 022
src=$(cd "$(dirname "$0")/.." && pwd)
build="" out=$src/build compress=(-Zxz)

die() {
  echo "package.sh: error: $*" >&2
  exit "${2:-1}"
}
while (($#)); do
  case $1 in
    --build-dir) build=$(realpath "${2:?}") && shift 2 ;;
    --out) out=${2:?} && shift 2 ;;
    --fast) compress=(-Zgzip -z1) && shift ;;
    -h | --help)
      sed -n '7,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (try --help)" 64 ;;
  esac
done
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh installs it)" 69
done

if [[ -z $build ]]; then
  bash "$src/scripts/install-deps.sh" --package >&2
  build=$src/build/release
  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  (cd "$src" && cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr "${launcher[@]}") >&2
  (cd "$src" && cmake --build --preset release -j "$(nproc)") >&2
fi
[[ -f $build/version.txt && -f $build/modules.txt ]] ||
  die "$build: not a configured sms-suite build tree (no version.txt or modules.txt)" 66

version=$(<"$build/version.txt")
arch=$(dpkg --print-architecture)
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
if [[ -n ${DEBEMAIL:-} ]]; then
  maintainer="${DEBFULLNAME:-sms-suite maintainers} <$DEBEMAIL>"
else
  maintainer=$(git -C "$src" log -1 --format='%an <%ae>' 2>/dev/null) ||
    die "no maintainer: set DEBFULLNAME and DEBEMAIL" 78
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/sms-suite

# --- the files -----------------------------------------------------------------------------------
if ! DESTDIR=$root cmake --install "$build" --prefix /usr --strip >"$work/install.log" 2>&1; then
  cat "$work/install.log" >&2
  die "cmake --install $build failed (is everything built?)"
fi
# The configuration is the administrator's: a conffile, never replaced unasked on upgrade. It may
# hold secrets, so not readable by others (postinst gives it to the asterisk group).
install -D -m 0640 "$src/examples/sms-suite.conf" "$root/etc/asterisk/sms-suite.conf"
install -m 0644 "$src/scripts/deb/copyright" "$doc/copyright"
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
printf '%s\n' "sms-suite ($version) unstable; urgency=medium" "" \
  "  * Built from the sms-suite source, commit $commit." "" \
  " -- $maintainer  $date" >"$work/changelog"
gzip -9nc "$work/changelog" >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# --- the relations -------------------------------------------------------------------------------
# Depends: what the binaries link. The modules' libraries are loaded only when a tool needs them:
# Recommends or Suggests, as each module registered itself (sms_add_module), one sentence each.
mapfile -t binaries < <(find "$root/usr/bin" -type f)
shlib_args=(-dDepends -e"${binaries[0]}")
for b in "${binaries[@]:1}"; do shlib_args+=(-e"$b"); done
on_demand=""
while IFS=$'\t' read -r file field why; do
  [[ -n $file ]] || continue
  module=$root/usr/lib/sms-suite/$file
  [[ -f $module ]] || die "module $file is registered but not installed in /usr/lib/sms-suite"
  shlib_args+=("-d$field" -e"$module")
  # Wrapped for lintian (80 columns): " - " then hanging lines, each given one space below.
  on_demand+=$(fold -s -w 72 <<<"$why" | sed 's/ *$//; 1s/^/ - /; 2,$s/^/   /')$'\n'
done <"$build/modules.txt"
mkdir -p "$work/debian"
printf 'Source: sms-suite\n\nPackage: sms-suite\nArchitecture: any\n' >"$work/debian/control"
substvars=$(cd "$work" && dpkg-shlibdeps -O "${shlib_args[@]}" 2>"$work/shlibdeps.log") || {
  cat "$work/shlibdeps.log" >&2
  die "dpkg-shlibdeps failed"
}
field() { sed -n "s/^shlibs:$1=//p" <<<"$substvars"; }
join() { # join ITEM...: the non-empty items, comma-separated
  local item list=""
  for item; do [[ -z $item ]] || list+=${list:+, }$item; done
  echo "$list"
}
# Not libraries: sms2fax's default font, and its fallbacks for CJK text and symbols; the mail
# server that service E hands its e-mails to ([mail] sendmail).
depends=$(join "$(field Depends)" fonts-dejavu-core)
recommends=$(join "$(field Recommends)" fonts-wqy-microhei fonts-symbola)
suggests=$(join "$(field Suggests)" "default-mta | mail-transport-agent")

installed_size=$(du -s -k --apparent-size "$root" | cut -f1)
mkdir -p "$root/DEBIAN"
{
  echo "Package: sms-suite"
  echo "Version: $version"
  echo "Architecture: $arch"
  echo "Maintainer: $maintainer"
  echo "Installed-Size: $installed_size"
  echo "Depends: $depends"
  [[ -z $recommends ]] || echo "Recommends: $recommends"
  [[ -z $suggests ]] || echo "Suggests: $suggests"
  echo "Section: comm"
  echo "Priority: optional"
  echo "Description: routes the short messages reaching an Asterisk PBX"
  sed 's/^/ /; s/^ $/ ./' <<EOF
Every short message that reaches the PBX goes to the service its receiver
chose: an SMS to a landline SMS phone (the FSK protocol of app_sms), a fax,
a spoken voice call, a command service, a SIP MESSAGE or an e-mail (and
e-mails back as SMS). Small command-line tools chained from the dialplan,
from cron, from the systemd units or from the mail server; a SQLite or
MySQL/MariaDB subscriber directory; no message lost or duplicated.

Loaded only when needed, from /usr/lib/sms-suite:
${on_demand}The fonts: DejaVu Sans Mono draws fax texts; WenQuanYi Micro Hei and
Symbola draw the characters it lacks (CJK, symbols, emoji). A local mail
server (sendmail) delivers the messages of subscribers whose service is
e-mail.
EOF
} >"$root/DEBIAN/control"
echo /etc/asterisk/sms-suite.conf >"$root/DEBIAN/conffiles"
install -m 0755 "$src/scripts/deb/postinst" "$src/scripts/deb/prerm" "$src/scripts/deb/postrm" \
  "$root/DEBIAN/"
(cd "$root" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# --- the package ---------------------------------------------------------------------------------
mkdir -p "$out"
deb=$(realpath "$out")/sms-suite_${version}_${arch}.deb
dpkg-deb --root-owner-group "${compress[@]}" --build "$root" "$deb" >&2
echo "$deb"
