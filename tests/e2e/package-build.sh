#!/usr/bin/env bash
# Makes the package that e2e.package and e2e.package-cycle look at: scripts/package.sh --fast on
# this build, into <build>/test-package/ (made once for both: a minute less on a busy machine).
# Its last line must be the package's path.
set -uo pipefail

: "${SMS_BUILD_DIR:?}" "${SMS_SOURCE_DIR:?}"
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || {
    echo "skip: $tool not installed (scripts/install-deps.sh)"
    exit 77
  }
done
out=$SMS_BUILD_DIR/test-package
rm -rf "$out" && mkdir -p "$out"
deb=$(bash "$SMS_SOURCE_DIR/scripts/package.sh" --fast --build-dir "$SMS_BUILD_DIR" --out "$out" \
  2>"$out/log" | tail -n 1)
if [[ $deb != "$out"/*.deb || ! -f $deb ]]; then
  cat "$out/log"
  echo "FAIL: scripts/package.sh printed '$deb' last, not the path of a package in $out"
  exit 1
fi
echo "ok: $deb"
