#!/usr/bin/env bash
# Installs the Debian 12 packages sms-suite needs, in groups:
#   (no argument)  everything: building, running, testing, fuzzing and the man pages (CI, test.sh)
#   --tools        only what building and running the tools needs (demo.sh)
#   --bench        everything, and the peers the benchmark compares against (bench.sh)
#   --package      building the tools, their man pages and the Debian package (package.sh)
# Idempotent and non-interactive; run as root (or through sudo).
set -euo pipefail

# Building the tools: compiler, build system and the libraries they link.
build=(
  build-essential cmake ninja-build pkg-config
  libcli11-dev libfmt-dev
  libsqlite3-dev default-libmysqlclient-dev libicu-dev
  libtiff-dev libfreetype-dev libmagick++-dev libpng-dev
  libespeak-ng-dev libswresample-dev libavutil-dev
  # sms-mail-in's MIME parser (GMime 3; linked by sms-mail-in alone)
  libgmime-3.0-dev
)
# Running them: fonts and voices they load; python3 and tiffinfo for what demo.sh shows.
run=(
  fonts-dejavu-core espeak-ng-data python3 libtiff-tools
  # fax fallback fonts: CJK (5 MB) and black-and-white symbols and emoji (3 MB), outline fonts
  fonts-wqy-microhei fonts-symbola
)
# Testing: the unit-test framework and the real peers: servers, decoders and players.
test=(
  git libgtest-dev libgmock-dev
  mariadb-server mariadb-client libspandsp-dev sox espeak-ng
  sqlite3 file
  # the mail server of the e-mail tests (scripts/exim-test-setup.sh configures it)
  exim4-daemon-light
)
# The man pages (rendered and checked), fuzzing (clang's libFuzzer) and formatting.
docs=(mandoc pandoc man-db)
dev=(clang clang-format libclang-rt-dev)
# The Debian package (package.sh, whose test runs lintian); systemd-analyze verifies the units.
package=(dpkg-dev lintian systemd)
# The peers the benchmark compares against (SPEC 7); not needed for the tests.
bench=(paps ghostscript ffmpeg time hyperfine)

case ${1:-} in
  "") packages=("${build[@]}" "${run[@]}" "${test[@]}" "${docs[@]}" "${dev[@]}" "${package[@]}") ;;
  --tools) packages=("${build[@]}" "${run[@]}") ;;
  --bench)
    packages=("${build[@]}" "${run[@]}" "${test[@]}" "${docs[@]}" "${dev[@]}" "${package[@]}"
      "${bench[@]}")
    ;;
  --package) packages=("${build[@]}" "${run[@]}" "${docs[@]}" "${package[@]}") ;;
  *)
    echo "usage: $0 [--tools | --bench | --package]" >&2
    exit 64
    ;;
esac

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
