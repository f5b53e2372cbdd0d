#!/usr/bin/env bash
# Installs every Debian 12 package sms-suite needs to build, test, document and benchmark.
# Idempotent and non-interactive; run as root (or through sudo).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-dev
  # libraries
  libcli11-dev libfmt-dev libgtest-dev libgmock-dev
  libsqlite3-dev default-libmysqlclient-dev libicu-dev
  libtiff-dev libfreetype-dev fonts-dejavu-core libmagick++-dev libpng-dev
  # fax fallback fonts: CJK (5 MB) and black-and-white symbols and emoji (3 MB), outline fonts
  fonts-wqy-microhei fonts-symbola
  libespeak-ng-dev espeak-ng-data libswresample-dev libavutil-dev
  # test peers: real servers, decoders and players
  mariadb-server mariadb-client libspandsp-dev libtiff-tools sox espeak-ng
  sqlite3 file python3
  # man pages
  mandoc pandoc man-db
)

if [[ ${1:-} == --bench ]]; then
  # peers the benchmark compares against (SPEC 7); not needed for the tests
  packages+=(paps ghostscript ffmpeg time hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
((EUID == 0)) || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
