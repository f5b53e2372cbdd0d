#!/usr/bin/env bash
# The Debian package's life as an administrator lives it, in a throwaway copy of this machine (a
# private mount namespace with /usr, /etc and /var overlaid: nothing reaches the real system, nor
# the tests running beside this one): apt-get install on a machine with nothing of the suite;
# the tools run from PATH and load their modules from /usr/lib/sms-suite; man finds the pages;
# the installed units pass systemd-analyze verify; an upgrade to a newer build keeps an edited
# sms-suite.conf and its mode (dpkg-statoverride); apt-get purge leaves no file of the package behind, but the
# directory database, which is the administrator's.
set -uo pipefail

if [[ ${1:-} != --inside ]]; then
  : "${SMS_BUILD_DIR:?}" "${SMS_SOURCE_DIR:?}" "${SMS_TOOL_PAGES:?}"
  skip() {
    echo "skip: $*"
    exit 77
  }
  ((EUID == 0)) || skip "needs root (a private mount namespace with overlays)"
  for tool in dpkg-deb apt-get unshare; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
  done
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  unshare -m --propagation private mount -t tmpfs none "$work" 2>/dev/null ||
    skip "no private mount namespace here (unshare -m)"
  # Made by e2e.package-build (scripts/package.sh --fast on this build).
  deb=$(find "$SMS_BUILD_DIR/test-package" -name '*.deb' 2>/dev/null)
  [[ -f $deb ]] || {
    echo "FAIL: no package in $SMS_BUILD_DIR/test-package (e2e.package-build made none)"
    exit 1
  }
  # A newer build: the same files under a higher version.
  version=$(dpkg-deb -f "$deb" Version)
  dpkg-deb -R "$deb" "$work/newer"
  sed -i "s/^Version: .*/Version: $version+1/" "$work/newer/DEBIAN/control"
  newer=$work/sms-suite_${version}+1_$(dpkg --print-architecture).deb
  dpkg-deb --root-owner-group -Zgzip -z1 -b "$work/newer" "$newer" >/dev/null
  rm -rf "$work/newer"
  exec unshare -m --propagation private bash "$0" --inside "$work" "$deb" "$newer"
fi

# --- inside the namespace ------------------------------------------------------------------------
work=$2 deb=$3 newer=$4
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
run() { # run DESCRIPTION COMMAND...: the command's output shown only when it fails
  if ! "${@:2}" >"$work/run.log" 2>&1; then
    cat "$work/run.log"
    fail "$1"
    return 1
  fi
}
for d in usr etc var; do
  mkdir -p "$work/ov/$d/up" "$work/ov/$d/work"
  mount -t overlay overlay \
    -o "lowerdir=/$d,upperdir=$work/ov/$d/up,workdir=$work/ov/$d/work" "/$d" || {
    echo "skip: no overlay file system over /$d here"
    exit 77
  }
done
# Modules must come from /usr/lib/sms-suite, not from the build tree the binaries were built in.
if [[ -d $SMS_BUILD_DIR/lib/sms-suite ]]; then
  mkdir "$work/empty" && mount --bind "$work/empty" "$SMS_BUILD_DIR/lib/sms-suite"
fi
export DEBIAN_FRONTEND=noninteractive
# No archive: what the package needs is already on this machine (install-deps), and apt reading
# every list of the archive is most of its time.
apt=(apt-get -y -q --no-install-recommends -o Dpkg::Use-Pty=0 -o Dir::Etc::SourceList=/dev/null
  -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$work/lists")
mkdir -p "$work/lists/partial"
# Nothing of the suite; an Asterisk user and group, as an Asterisk server has them.
dpkg --purge sms-suite >/dev/null 2>&1
rm -f /etc/asterisk/sms-suite.conf
getent group asterisk >/dev/null || groupadd -r asterisk
getent passwd asterisk >/dev/null || useradd -r -g asterisk -d /var/lib/asterisk asterisk
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections 2>/dev/null
had_etc_asterisk=0
[[ -d /etc/asterisk ]] && had_etc_asterisk=1

# --- install -------------------------------------------------------------------------------------
run "apt-get install ./$(basename "$deb")" "${apt[@]}" install "$deb" || exit 1
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for page in $SMS_TOOL_PAGES; do
  tool=${page%.*}
  where=$(env -i PATH=$path bash -c "command -v $tool")
  [[ $where == /usr/bin/$tool ]] || fail "$tool on PATH is ${where:-missing}, not /usr/bin/$tool"
  out=$(cd / && env -i PATH=$path "$tool" --version 2>&1) || fail "$tool --version: $out"
  where=$(man -w "${page##*.}" "$tool" 2>&1)
  [[ $where == "/usr/share/man/man${page##*.}/$page.gz" ]] || fail "man -w $page: $where"
done
man -P cat 8 sms-process 2>/dev/null | grep -q 'sms-process' || fail "man 8 sms-process shows nothing"
conf=/etc/asterisk/sms-suite.conf
[[ $(stat -c '%a %U %G' "$conf") == '640 root asterisk' ]] ||
  fail "$conf after install: $(stat -c '%a %U %G' "$conf"), not 640 root asterisk"
[[ $(stat -c '%U' /var/lib/sms-suite 2>&1) == asterisk ]] ||
  fail "/var/lib/sms-suite after install: $(stat -c '%U' /var/lib/sms-suite 2>&1)"
# A module loaded from where the package put it: transliteration (ICU) for an S phone.
out=$(env -i PATH=$path sms-send --from 600700800 --to 600700801 --extension DAHDI/1 --dry-run \
  --json --text 'Zażółć' 2>&1)
grep -q '"text":"Zazolc"' <<<"$out" || fail "sms-send could not transliterate (module?): $out"
if command -v systemd-analyze >/dev/null; then
  out=$(cd /usr/lib/systemd/system && systemd-analyze verify --man=no \
    sms-process*.service sms-process*.path sms-process*.timer 2>&1)
  grep -q 'sms-process' <<<"$out" && fail "systemd-analyze verify:"$'\n'"$out"
fi

# --- the administrator's edit and data; upgrade --------------------------------------------------
echo '; edited by the administrator' >>"$conf"
# The administrator's own mode, made the Debian way, which dpkg and postinst keep.
run "dpkg-statoverride" dpkg-statoverride --update --add root asterisk 0600 "$conf"
run "sms-directory init" env -i PATH=$path sms-directory init
[[ -f /var/lib/sms-suite/directory.db ]] || fail "sms-directory init made no directory.db"
run "apt-get install ./$(basename "$newer") (upgrade)" "${apt[@]}" install "$newer"
[[ $(dpkg-query -W -f '${Version}' sms-suite) == "$(dpkg-deb -f "$newer" Version)" ]] ||
  fail "not upgraded: $(dpkg-query -W -f '${Version}' sms-suite)"
tail -n 1 "$conf" | grep -qx '; edited by the administrator' || fail "the upgrade lost the edit"
[[ $(stat -c '%a' "$conf") == 600 ]] || fail "the upgrade changed the mode: $(stat -c '%a' "$conf")"

# --- purge ---------------------------------------------------------------------------------------
dpkg-deb -c "$newer" | awk '$1 !~ /^d/ { p = $6; sub(/^\./, "", p); print p }' >"$work/files"
run "apt-get purge sms-suite" "${apt[@]}" purge sms-suite
dpkg-query -W -f '${Status}' sms-suite 2>/dev/null | grep -q installed &&
  fail "still known to dpkg: $(dpkg-query -W -f '${Status}' sms-suite)"
while read -r f; do
  [[ -e $f || -L $f ]] && fail "$f left after purge"
done <"$work/files"
for d in /usr/lib/sms-suite /usr/share/doc/sms-suite; do
  [[ -e $d ]] && fail "$d left after purge"
done
((had_etc_asterisk)) || [[ ! -e /etc/asterisk ]] || fail "/etc/asterisk left after purge"
[[ -f /var/lib/sms-suite/directory.db ]] || fail "the purge took the directory database"
# Whatever else changed on the machine is the package managers' own bookkeeping, the user and
# group made above, and the directory database: nothing else of the package's.
left=$(cd "$work/ov" && find . -type f -printf '/%P\n' | sed 's|^/\([a-z]*\)/up/|/\1/|' |
  grep -vE '^/(usr|etc|var)/work/' |
  grep -vE '^/var/(lib/dpkg|lib/apt|cache/apt|cache/debconf|cache/man|log)/' |
  grep -vE '^/etc/((passwd|group|shadow|gshadow|subuid|subgid)-?|\.pwd\.lock)$' |
  grep -vxF /var/lib/sms-suite/directory.db)
[[ -z $left ]] || fail "left after purge:"$'\n'"$left"

if ((failures)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: installed, ran from PATH, upgraded keeping the edited conffile, purged leaving only data"
