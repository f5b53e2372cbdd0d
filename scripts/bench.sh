#!/usr/bin/env bash
# Benchmarks of SPEC 7: each figure beside its peer on the same input in the same run, as medians
# of several runs and as ratios, plus peak memory. Prints Markdown (BENCHMARKS.md is its output).
# Not a test: it asserts nothing; a section whose tool is missing or answers "not implemented
# yet" (exit 70) is skipped with a line saying so.
#
#   bash scripts/bench.sh [--no-build]
#
# Environment: BENCH_BIN (the tools; default build/release/tools, built unless --no-build),
# BENCH_DIR (work folder, default a new one under $TMPDIR: put it on the file system the spool
# lives on), BENCH_MESSAGES (10000), BENCH_ROUTE_RUNS (5), BENCH_SINGLE_RUNS (one-message runs, 50),
# BENCH_BEFORE_BIN (another build's tools: its one-message time is shown beside), BENCH_ONLY
# (a comma-separated list of sections to run: startup, routing, fax, faximage, faxpictures,
# voice, queue, memory),
# BENCH_SETTLE (seconds between routing runs, 31: see below; less only to try the script),
# BENCH_RUNS (fax and voice runs, 10), BENCH_STARTUP_RUNS (200), BENCH_QUEUE_ITEMS (10000).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=1
[[ ${1:-} == --no-build ]] && build=0

messages=${BENCH_MESSAGES:-10000}
route_runs=${BENCH_ROUTE_RUNS:-5}
single_runs=${BENCH_SINGLE_RUNS:-50}
runs=${BENCH_RUNS:-10}
startup_runs=${BENCH_STARTUP_RUNS:-200}
dests=10 # destination phones the routed messages are spread over (SPEC 7)

say() { printf '%s\n' "$*"; }
want() { [[ -z ${BENCH_ONLY:-} || ,$BENCH_ONLY, == *,$1,* ]]; }
note() { printf '_%s_\n\n' "$*"; }
die() {
  echo "bench.sh: $*" >&2
  exit 1
}

# ---------- peers, build ----------
# (The routing part needs none of them.)
if want startup || want fax || want voice; then
  bash scripts/install-deps.sh --bench >&2 || die "cannot install the benchmark peers"
fi
bin=${BENCH_BIN:-$root/build/release/tools}
if ((build)) && [[ -z ${BENCH_BIN:-} ]]; then
  { cmake --preset release >/dev/null &&
    cmake --build build/release -j "$(nproc)" \
      --target sms-process sms2fax sms2voice getchaninfo post-sms send-sipim callfile-gen sms-send \
        sms-queue
  } >&2 || die "release build failed"
fi
[[ -x $bin/sms-process ]] || die "no tools in $bin (build the release preset or set BENCH_BIN)"

work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sms-bench.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
fsloop=$work/fsloop
c++ -O2 -std=c++20 -o "$fsloop" tests/bench/fsloop.cpp || die "cannot build tests/bench/fsloop.cpp"

# ---------- helpers ----------
# Median of numbers on stdin.
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# fmt EXPR: evaluates an awk expression, printed with the given printf format.
calc() { awk "BEGIN {printf \"$1\", $2}"; }
# Peak resident set size of a command in KiB, from /usr/bin/time -v ("Maximum resident set
# size"; for a pipeline run through bash, the largest process of it).
peak_kib() {
  /usr/bin/time -v -o "$work/time.out" "$@" >/dev/null 2>&1
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.out"
}
mib() { calc "%.1f MiB" "$1 / 1024"; }
# hyperfine's median (seconds) of the command named $2 in the CSV file $1.
hf_median() { awk -F, -v n="$2" 'NR > 1 && $1 == n {print $4}' "$1"; }
# Runs a tool once; prints a skip line and fails when it is unusable (exit 70: not yet written).
usable() {
  local name=$1 out rc
  shift
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  if ((rc == 70)); then
    note "skipped: $name answers exit 70 (not implemented yet)"
    return 1
  elif ((rc != 0)); then
    note "skipped: $name failed (exit $rc): ${out%%$'\n'*}"
    return 1
  fi
}
declare -a summary=()
target() { summary+=("| $1 | $2 | $3 | $4 |"); }

# ---------- the machine ----------
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(findmnt -n -o FSTYPE,SOURCE -T "$work" 2>/dev/null | tr -s ' ')
say "# sms-suite benchmarks"
say
say "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
say "- commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- lib tools 2>/dev/null || echo ' (with uncommitted changes in lib/ or tools/)')"
say "- machine: $(nproc) CPUs ($cpu), $mem memory, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "- work folder: $work on ${fs:-unknown}"
say "- tools: $bin ($(grep -m1 CMAKE_BUILD_TYPE "$bin/../CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
say

# ---------- a spool, a directory, a configuration ----------
spool=$work/spool
db=$work/directory.db
conf=$work/sms-suite.conf
{
  echo "CREATE TABLE PBXNumbers(Account TEXT PRIMARY KEY, Message TEXT NOT NULL, Extension TEXT NOT NULL);"
  echo "BEGIN;"
  for ((i = 0; i < dests; i++)); do
    echo "INSERT INTO PBXNumbers VALUES('$((600700000 + i))','S','DAHDI/$((i + 1))');"
  done
  echo "INSERT INTO PBXNumbers VALUES('48500100200','S','DAHDI/200');"
  echo "COMMIT;"
} | sqlite3 "$db"
mkdir -p "$work/fax" "$work/voice"
cat >"$conf" <<EOF
; written by scripts/bench.sh
[general]
spool_dir = $spool
[directory]
backend = sqlite
sqlite_path = $db
[fax]
dir = $work/fax
[voice]
dir = $work/voice
EOF
chmod 600 "$conf"
fresh_spool() {
  rm -rf "$spool"
  mkdir -p "$spool/sms/morx" "$spool/sms/mttx" "$spool/outgoing"
}

# ---------- start-up ----------
if want startup; then
say "## Start-up: sms-process on an empty spool against /bin/true"
say
fresh_spool
if usable sms-process "$bin/sms-process" --config "$conf"; then
  # Direct exec (hyperfine -N: no shell), and through sh -c as the dialplan's System() runs it.
  hyperfine -N --style none --warmup 20 --runs "$startup_runs" --export-csv "$work/startup.csv" \
    -n true /bin/true -n sms-process "$bin/sms-process --config $conf" \
    -n sh-true "sh -c /bin/true" -n sh-sms-process "sh -c '$bin/sms-process --config $conf'" \
    >/dev/null 2>&1
  t_true=$(hf_median "$work/startup.csv" true)
  t_proc=$(hf_median "$work/startup.csv" sms-process)
  t_shtrue=$(hf_median "$work/startup.csv" sh-true)
  t_shproc=$(hf_median "$work/startup.csv" sh-sms-process)
  ratio=$(calc "%.2f" "$t_proc / $t_true")
  say "| command | median, direct exec | median, through sh -c | peak memory |"
  say "|---|---|---|---|"
  say "| /bin/true | $(calc "%.2f ms" "$t_true * 1000") | $(calc "%.2f ms" "$t_shtrue * 1000") | $(mib "$(peak_kib /bin/true)") |"
  say "| sms-process (empty spool) | $(calc "%.2f ms" "$t_proc * 1000") | $(calc "%.2f ms" "$t_shproc * 1000") | $(mib "$(peak_kib "$bin/sms-process" --config "$conf")") |"
  say
  say "Ratio sms-process / true: **${ratio}x** by direct exec (target: at most 2x); $(calc "%.2f" "$t_shproc / $t_shtrue")x through sh -c. hyperfine -N, $startup_runs runs each, medians."
  libs=$(ldd "$bin/sms-process" | awk '{print $1}' | grep -v -e vdso -e ld-linux)
  say "Shared libraries sms-process loads besides the loader: $(wc -l <<<"$libs") ($(tr "\n" " " <<<"$libs" | sed "s/ $//"))."
  say
  target "start-up, sms-process vs /bin/true (direct exec)" "<= 2x" "${ratio}x" "$(calc "%s" "($ratio <= 2) ? \"met\" : \"missed\"")"
fi

fi

# ---------- routing ----------
if want routing; then
say "## Routing $messages S messages (SQLite directory, durability on)"
say
# A spool of N messages for $dests phones.
fill_spool() {
  fresh_spool
  "$fsloop" gen "$spool/sms/morx" "$1" "$dests"
}
# elapsed SECONDS and peak KiB of a command, as "seconds kib".
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$work/time.out" "$@" >"$work/timed.stdout" 2>"$work/timed.stderr"
  local rc=$?
  t1=$(date +%s.%N)
  echo "$(calc "%.3f" "$t1 - $t0") $(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.out") $rc"
}
fill_spool 10
if usable sms-process "$bin/sms-process" --config "$conf"; then
  # What the router does to the file system, counted once with strace (successful calls only)
  # on a smaller spool and scaled: the plain loop replays exactly those operations.
  count=1000
  ops=""
  if command -v strace >/dev/null; then
    fill_spool "$count"
    strace -f -qq -o "$work/strace.log" \
      -e trace=openat,open,creat,write,pwrite64,fsync,fdatasync,syncfs,sync,rename,renameat,renameat2,link,linkat,unlink,unlinkat,mkdir,mkdirat,rmdir,fchmod \
      "$bin/sms-process" --config "$conf" >/dev/null 2>&1
    ops=$(awk -v n="$messages" -v c="$count" '
      / = -1 / {next}
      /openat\(|open\(|creat\(/ {if ($0 ~ /O_CREAT/) cr++; next}
      /(^|[ ])(write|pwrite64)\(/ {
        if (match($0, /\((1|2), /)) next   # stdout/stderr
        w++; b += $NF; next}
      /fdatasync\(/ {fds++; next}
      /fsync\(/ {fs++; next}
      /syncfs\(|[ ]sync\(/ {sf++; if (run > batch) batch = run; run = 0; next}
      /rename|link\(|linkat\(/ {
        if ($0 ~ /unlink/) {if ($0 ~ /AT_REMOVEDIR/) rd++; else {ul++; if ($0 ~ /\/sms\/morx\//) run++}}
        else rn++
        next}
      /rmdir\(/ {rd++; next}
      /mkdir/ {md++; next}
      /fchmod\(/ {ch++; next}
      END {
        s = n / c
        if (run > batch) batch = run
        printf "%d %d %d %d %d %d %d %d %d %d %d %d\n", batch, cr*s, w*s, b*s, fs*s, fds*s, sf*s, rn*s, ul*s, md*s, rd*s, ch*s
        printf "%.2f creates, %.2f writes (%.0f bytes), %.3f fsync, %.3f fdatasync, %.4f syncfs, %.2f renames or links, %.2f unlinks, %.2f mkdir, %.2f rmdir, %.2f fchmod; inputs removed in batches of up to %d between syncs", cr/c, w/c, b/c, fs/c, fds/c, sf/c, rn/c, ul/c, md/c, rd/c, ch/c, batch
      }' "$work/strace.log")
    per_message=$(sed -n 2p <<<"$ops")
    ops=$(sed -n 1p <<<"$ops")
  fi
  declare -a r_t=() r_m=() c_t=() l_t=()
  routed_line=""
  # ext4 skips inodes freed in the last 30 seconds when it allocates new ones (fs/ext4/ialloc.c,
  # recently_deleted()): creating files right after tens of thousands were deleted costs up to
  # ten times more system time. So every run gets folders of its own (nothing is deleted between
  # runs) and starts at least 31 s after the previous run's deletions. The router and the
  # ceiling alternate (which goes first alternates too), so that a busy moment of the shared
  # machine hits both.
  last_delete=$(date +%s)
  settle() {
    local wait=$((last_delete + ${BENCH_SETTLE:-31} - $(date +%s)))
    ((wait > 0)) && sleep "$wait"
  }
  run_router() {
    settle
    read -r t m rc < <(timed "$bin/sms-process" --config "$conf" --spool "$work/route-$r")
    last_delete=$(date +%s)
    r_t+=("$t")
    r_m+=("$m")
    routed_line=$(tail -n 1 "$work/timed.stderr")
    left=$(find "$work/route-$r/sms/morx" -maxdepth 1 -type f | wc -l)
  }
  run_ceiling() {
    settle
    read -r t m rc < <(timed "$fsloop" ceiling "$work/ceiling-$r" "$messages")
    last_delete=$(date +%s)
    c_t+=("$t")
  }
  for ((r = 1; r <= route_runs; r++)); do
    mkdir -p "$work/route-$r/sms/mttx" "$work/route-$r/outgoing"
    "$fsloop" gen "$work/route-$r/sms/morx" "$messages" "$dests"
    "$fsloop" gen "$work/ceiling-$r/sms/morx" "$messages" "$dests"
    [[ -n $ops ]] && "$fsloop" gen "$work/loop-$r/sms/morx" "$messages" "$dests"
    sync
    if ((r % 2)); then
      run_router
      run_ceiling
    else
      run_ceiling
      run_router
    fi
    if [[ -n $ops ]]; then
      settle
      # shellcheck disable=SC2086
      read -r t m rc < <(timed "$fsloop" replay "$work/loop-$r" "$messages" $ops)
      last_delete=$(date +%s)
      l_t+=("$t")
    fi
  done
  rt=$(printf '%s\n' "${r_t[@]}" | median)
  rm_kib=$(printf '%s\n' "${r_m[@]}" | median)
  r_rate=$(calc "%.0f" "$messages / $rt")
  ct=$(printf '%s\n' "${c_t[@]}" | median)
  c_rate=$(calc "%.0f" "$messages / $ct")
  say "| run | median time | messages/s | peak memory |"
  say "|---|---|---|---|"
  say "| sms-process, $messages messages | $(calc "%.2f s" "$rt") | $r_rate | $(mib "$rm_kib") |"
  say "| ceiling: the cheapest durable loop (read, one queue file, one call file per phone, unlink; one syncfs), $messages messages | $(calc "%.2f s" "$ct") | $c_rate | - |"
  if [[ -n $ops ]]; then
    lt=$(printf '%s\n' "${l_t[@]}" | median)
    l_rate=$(calc "%.0f" "$messages / $lt")
    say "| for context: the router's own file operations with no logic, $messages messages | $(calc "%.2f s" "$lt") | $l_rate | - |"
  fi
  say
  say "Last router summary: \`$routed_line\`; messages left in sms/morx/: $left. Runs: $route_runs each, router and ceiling alternating (and which goes first), each in new folders and ${BENCH_SETTLE:-31} s after the previous run's deletions; times: router ${r_t[*]} s; ceiling ${c_t[*]} s${l_t:+; same operations ${l_t[*]} s}."
  say
  # Each router run against the ceiling run beside it: on a shared disk a sync may wait seconds
  # for other people's writes, and pairing cancels most of that.
  pairs=$(for ((r = 0; r < ${#r_t[@]}; r++)); do calc "%.4f\n" "${c_t[r]} / ${r_t[r]}"; done)
  ratio=$(calc "%.2f" "$(median <<<"$pairs")")
  [[ -n $ops ]] && say "The router's file operations per message (strace, $count messages): $per_message."
  [[ -n $ops ]] && say
  say "Ratio router / ceiling: **${ratio}** (target: at least 0.5): the median of the $route_runs paired runs' ratios ($(tr '\n' ' ' <<<"$pairs")); from the medians of the times alone: $(calc "%.2f" "$r_rate / $c_rate")."
  if [[ -n $ops ]]; then
    lpairs=$(for ((r = 0; r < ${#r_t[@]}; r++)); do calc "%.4f\n" "${l_t[r]} / ${r_t[r]}"; done)
    say "For context, router / its own file operations with no logic (a reference that moves with the design): $(calc "%.2f" "$(median <<<"$lpairs")")."
  fi
  say
  target "routing $messages messages, sms-process vs the cheapest durable loop" ">= 0.5" "$ratio ($r_rate vs $c_rate msg/s)" "$(calc "%s" "($ratio >= 0.5) ? \"met\" : \"missed\"")"

  # The burst case: the same job while a burst is processed, each run started right after its
  # inputs were written (still in the page cache, as app_sms just wrote them: the ceiling's one
  # syncfs() never writes them out, as they are gone by then, while the router's syncs do),
  # alternating, in new folders; the inputs are written at least BENCH_SETTLE s after the
  # previous run's deletions, as above.
  say "### Routing a burst: each run right after its $messages inputs were written"
  say
  declare -a b_t=() bc_t=()
  burst_router() {
    settle
    mkdir -p "$work/broute-$r/sms/mttx" "$work/broute-$r/outgoing"
    "$fsloop" gen "$work/broute-$r/sms/morx" "$messages" "$dests"
    read -r t m rc < <(timed "$bin/sms-process" --config "$conf" --spool "$work/broute-$r")
    last_delete=$(date +%s)
    b_t+=("$t")
    b_line=$(tail -n 1 "$work/timed.stderr")
  }
  burst_ceiling() {
    settle
    "$fsloop" gen "$work/bceiling-$r/sms/morx" "$messages" "$dests"
    read -r t m rc < <(timed "$fsloop" ceiling "$work/bceiling-$r" "$messages")
    last_delete=$(date +%s)
    bc_t+=("$t")
  }
  for ((r = 1; r <= route_runs; r++)); do
    if ((r % 2)); then
      burst_router
      burst_ceiling
    else
      burst_ceiling
      burst_router
    fi
  done
  bt=$(printf '%s\n' "${b_t[@]}" | median)
  bct=$(printf '%s\n' "${bc_t[@]}" | median)
  b_rate=$(calc "%.0f" "$messages / $bt")
  bc_rate=$(calc "%.0f" "$messages / $bct")
  bpairs=$(for ((r = 0; r < ${#b_t[@]}; r++)); do calc "%.4f\n" "${bc_t[r]} / ${b_t[r]}"; done)
  bratio=$(calc "%.2f" "$(median <<<"$bpairs")")
  say "| run | median time | messages/s |"
  say "|---|---|---|"
  say "| sms-process, $messages messages just written | $(calc "%.2f s" "$bt") | $b_rate |"
  say "| ceiling, $messages messages just written | $(calc "%.2f s" "$bct") | $bc_rate |"
  say
  say "Last router summary: \`$b_line\`. Runs: $route_runs each, alternating (and which goes first); times: router ${b_t[*]} s; ceiling ${bc_t[*]} s."
  say
  say "Ratio router / ceiling: **${bratio}** (target: at least 0.5): the median of the $route_runs paired runs' ratios ($(tr '\n' ' ' <<<"$bpairs"))."
  say
  target "routing a burst of $messages messages just written, sms-process vs the cheapest durable loop" ">= 0.5" "$bratio ($b_rate vs $bc_rate msg/s)" "$(calc "%s" "($bratio >= 0.5) ? \"met\" : \"missed\"")"
  # System calls per message (exact, unlike times), both in the burst case, under strace -c.
  if command -v strace >/dev/null; then
    per_call() { # strace -c output, messages: "total (the most frequent calls)"
      awk -v n="$2" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {c[$NF] = $4; t += $4}
        END {
          out = sprintf("%.1f", t / n); sep = " ("
          while (1) {
            best = ""; for (k in c) if (best == "" || c[k] > c[best]) best = k
            if (best == "" || c[best] / n < 0.05) break
            out = out sep sprintf("%s %.2f", best, c[best] / n); sep = ", "; delete c[best]
          }
          print out (sep == ", " ? ")" : "")
        }' "$1"
    }
    settle
    mkdir -p "$work/sroute/sms/mttx" "$work/sroute/outgoing"
    "$fsloop" gen "$work/sroute/sms/morx" "$messages" "$dests"
    strace -c -f -o "$work/router.strace" "$bin/sms-process" --config "$conf" --spool "$work/sroute" >/dev/null 2>&1
    last_delete=$(date +%s)
    settle
    "$fsloop" gen "$work/sceiling/sms/morx" "$messages" "$dests"
    strace -c -f -o "$work/ceiling.strace" "$fsloop" ceiling "$work/sceiling" "$messages" >/dev/null 2>&1
    last_delete=$(date +%s)
    say "System calls per message (strace -c -f, a burst of $messages, start-up included): router $(per_call "$work/router.strace" "$messages"); ceiling $(per_call "$work/ceiling.strace" "$messages")."
    say
  fi

  # The dialplan's case: one message in the spool, one run.
  say "### One message (the dialplan's case)"
  say
  one=$work/one
  mkdir -p "$one/sms/mttx" "$one/outgoing"
  if [[ -n ${BENCH_BEFORE_BIN:-} ]]; then
    mkdir -p "$work/one-before/sms/mttx" "$work/one-before/outgoing"
    read -r _ a_med a_min a_max _ b_med b_min b_max _ ab < <("$fsloop" single "$single_runs" "$one" \
      "$bin/sms-process" --config "$conf" --spool "$one" --vs "$work/one-before" \
      "$BENCH_BEFORE_BIN/sms-process" --config "$conf" --spool "$work/one-before" | tr '\n' ' ')
    say "| sms-process | median | min | max |"
    say "|---|---|---|---|"
    say "| this build ($bin) | $a_med ms | $a_min ms | $a_max ms |"
    say "| before ($BENCH_BEFORE_BIN) | $b_med ms | $b_min ms | $b_max ms |"
    say
    say "$single_runs runs each, alternating; each run routes one message written just before it (timed from fork to exit). Ratio this build / before: **$ab** (the median of the paired ratios; below 1 is faster)."
  else
    read -r _ a_med a_min a_max < <("$fsloop" single "$single_runs" "$one" \
      "$bin/sms-process" --config "$conf" --spool "$one")
    say "sms-process routing one message: median $a_med ms (min $a_min, max $a_max) over $single_runs runs, each with one message written just before it (timed from fork to exit). Set BENCH_BEFORE_BIN to the tools of another build to compare."
  fi
  say
fi
fi

# ---------- fax ----------
if want fax; then
say "## Fax: sms2fax against paps | gs -sDEVICE=tiffg3 -r204x196"
say
sms160="Meeting moved to Thursday 10:30 in room 4B. Please bring the signed contracts, the budget for Q3 and your laptop. Call me back on 600700800 if you cannot come."
sms160=${sms160:0:160}
printf '%s\n' "$sms160" >"$work/one.txt"
pages() { tiffinfo "$1" 2>/dev/null | grep -c '^TIFF Directory'; }
fax() { "$bin/sms2fax" --config "$conf" --from 48500100200 --to 600700800 --extension DAHDI/1 \
  --scts 2026-11-29T22:53:42 --mr 7 --no-call --output "$2" <"$1"; }
peer_fax() { paps --font="DejaVu Sans Mono 10" "$1" 2>/dev/null |
  gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=tiffg3 -r204x196 -sOutputFile="$2" -; }
export -f fax peer_fax
export bin conf
if usable sms2fax fax "$work/one.txt" "$work/one.tiff"; then
  # Ten pages: as many lines as sms2fax puts on ten fine pages, short ones so that the text stays
  # under the suite's text limit (12,288 bytes: SPEC 2.2).
  lines=600
  while :; do
    for ((i = 1; i <= lines; i++)); do
      printf '%04d lazy dog.\n' "$i"
    done >"$work/ten.txt"
    if ! fax "$work/ten.txt" "$work/ten.tiff" >/dev/null 2>"$work/ten.err"; then
      die "sms2fax refused the ten-page text ($(wc -c <"$work/ten.txt") bytes): $(cat "$work/ten.err")"
    fi
    p=$(pages "$work/ten.tiff")
    ((p >= 10 || lines > 2000)) && break
    lines=$((lines + 10))
  done
  say "| input | sms2fax median | paps \\| gs median | ratio | sms2fax peak | paps \\| gs peak | pages (sms2fax / paps \\| gs) |"
  say "|---|---|---|---|---|---|---|"
  for kind in one ten; do
    n=$runs
    [[ $kind == ten ]] && n=$(((runs + 1) / 2))
    hyperfine --shell bash --style none --warmup 1 --runs "$n" --export-csv "$work/fax-$kind.csv" \
      -n sms2fax "fax $work/$kind.txt $work/$kind.tiff" \
      -n peer "peer_fax $work/$kind.txt $work/$kind-peer.tiff" >/dev/null 2>&1
    ts=$(hf_median "$work/fax-$kind.csv" sms2fax)
    tp=$(hf_median "$work/fax-$kind.csv" peer)
    ms=$(peak_kib bash -c "fax $work/$kind.txt $work/$kind.tiff")
    mp=$(peak_kib bash -c "peer_fax $work/$kind.txt $work/$kind-peer.tiff")
    ratio=$(calc "%.1f" "$tp / $ts")
    label="one page (160 characters)"
    [[ $kind == ten ]] && label="ten pages ($(wc -l <"$work/ten.txt") lines)"
    say "| $label | $(calc "%.1f ms" "$ts * 1000") | $(calc "%.1f ms" "$tp * 1000") | **${ratio}x** | $(mib "$ms") | $(mib "$mp") | $(pages "$work/$kind.tiff") / $(pages "$work/$kind-peer.tiff") |"
    target "fax, $label, speed vs paps \\| gs" ">= 5x" "${ratio}x" "$(calc "%s" "($ratio >= 5) ? \"met\" : \"missed\"")"
    target "fax, $label, peak memory of sms2fax" "< 64 MiB" "$(mib "$ms")" "$(calc "%s" "($ms < 65536) ? \"met\" : \"missed\"")"
  done
  say
  say "Both in hyperfine's shell mode (its shell start-up subtracted); $runs runs for one page, $(((runs + 1) / 2)) for ten. Peak memory of the pipeline is that of its largest process. paps uses the same font (DejaVu Sans Mono 10) with its own margins; sms2fax's page also holds the header line."
  say
fi

fi

# ---------- fax with pictures ----------
if want faximage; then
say "## Fax with pictures: a logo on the first page and a photo page"
say
sms160="Meeting moved to Thursday 10:30 in room 4B. Please bring the signed contracts, the budget for Q3 and your laptop. Call me back on 600700800 if you cannot come."
printf '%s\n' "${sms160:0:160}" >"$work/one.txt"
pages() { tiffinfo "$1" 2>/dev/null | grep -c '^TIFF Directory'; }
fax() { "$bin/sms2fax" --config "$conf" --from 48500100200 --to 600700800 --extension DAHDI/1 \
  --scts 2026-11-29T22:53:42 --mr 7 --no-call --output "$2" <"$1"; }
# A 400 x 200 logo with transparency and a 1600 x 1200 photo-like picture (gradients and noise),
# both PNG, made here.
python3 - "$work" <<'PY'
import random, struct, sys, zlib
d = sys.argv[1]
def png(path, w, h, colour, rows):
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                           chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
logo = bytearray()
for y in range(200):
    logo += b"\0"
    for x in range(400):
        ink = (x - 100) ** 2 + (y - 100) ** 2 < 90 ** 2 or (220 < x < 380 and 60 < y < 140)
        logo += bytes([0, 0, 0, 255]) if ink else bytes([255, 255, 255, 0])
png(d + "/logo.png", 400, 200, 6, bytes(logo))
random.seed(1)
photo = bytearray()
for y in range(1200):
    photo += b"\0"
    for x in range(1600):
        n = random.randint(-20, 20)
        photo += bytes([max(0, min(255, v + n)) for v in (x * 255 // 1600, y * 255 // 1200, (x + y) * 255 // 2800)])
png(d + "/photo.png", 1600, 1200, 2, bytes(photo))
PY
sed "s|^\[fax\]\$|[fax]\nlogo = $work/logo.png|" "$conf" >"$work/logo.conf"
chmod 600 "$work/logo.conf"
pic_fax() { "$bin/sms2fax" --config "$work/logo.conf" --from 48500100200 --to 600700800 \
  --extension DAHDI/1 --scts 2026-11-29T22:53:42 --mr 7 --no-call --output "$2" --text "$(cat "$1")" "${@:3}"; }
export -f fax pic_fax
export bin conf work
if usable sms2fax pic_fax "$work/one.txt" "$work/logo.tiff"; then
  n=$(((runs + 1) / 2))
  hyperfine --shell bash --style none --warmup 1 --runs "$n" --export-csv "$work/fax-pic.csv" \
    -n text "fax $work/one.txt $work/text.tiff" \
    -n logo "pic_fax $work/one.txt $work/logo.tiff" \
    -n photo "pic_fax $work/one.txt $work/photo.tiff --image $work/photo.png" >/dev/null 2>&1
  say "| fax | median | peak memory | pages |"
  say "|---|---|---|---|"
  for kind in text logo photo; do
    t=$(hf_median "$work/fax-pic.csv" "$kind")
    case $kind in
      text) m=$(peak_kib bash -c "fax $work/one.txt $work/text.tiff") label="one text page (no picture: the module is not loaded)" ;;
      logo) m=$(peak_kib bash -c "pic_fax $work/one.txt $work/logo.tiff") label="one text page with a logo" ;;
      photo) m=$(peak_kib bash -c "pic_fax $work/one.txt $work/photo.tiff --image $work/photo.png") label="a text page with a logo, then a 1600 x 1200 photo page" ;;
    esac
    say "| $label | $(calc "%.1f ms" "$t * 1000") | $(mib "$m") | $(pages "$work/$kind.tiff") |"
  done
  target "fax with pictures, logo page + photo page, peak memory" "reported" "$(mib "$m")" "-"
  say
  say "hyperfine's shell mode, $n runs each. The logo and the photo are PNG; ImageMagick (the sms-fax-image module) reads, scales and greys them, the suite dithers them (logo: threshold; photo: Floyd-Steinberg)."
  say
fi

# ---------- fax pictures: call time on the line ----------
# Each picture through each dither, then the whole call simulated by spandsp (tests/bench/
# faxcall.cpp: both T.30 terminals, their modems over G.711 A-law, ECM on, MH/MR/MMR offered):
# the seconds of call a page keeps the line busy, beside the TIFF's size.
if want faxpictures; then
say "## Fax pictures: call time per page for each dither (spandsp's simulated call)"
say
if c++ -O2 -std=c++20 -o "$work/faxcall" tests/bench/faxcall.cpp \
     $(pkg-config --cflags --libs spandsp libtiff-4) &&
   c++ -O2 -std=c++20 -o "$work/faxpictures" tests/bench/faxpictures.cpp \
     $(pkg-config --cflags --libs Magick++) 2>/dev/null &&
   mkdir -p "$work/pics" && "$work/faxpictures" "$work/pics" /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf; then
  say "Pictures made by tests/bench/faxpictures.cpp: photo (blurred plasma, 1200 x 900), gradient"
  say "(black to white, 1200 x 900), text (a scanned letter, 1240 x 1754: two pages), drawing"
  say "(lines and shapes, 1200 x 900); fine resolution. Call time: spandsp's T.30 call simulated"
  say "in-process (V.17 14400 bit/s, ECM, T.6 negotiated), audio seconds from the first tone to"
  say "the end; TIFF: the file sms2fax writes (T.4 2-D)."
  say
  say "| picture | dither | pages | TIFF bytes | call s | call s a page |"
  say "|---|---|---|---|---|---|"
  for pic in photo gradient text drawing; do
    for d in auto halftone floyd-steinberg ordered threshold; do
      sed "s|^\[fax\]\$|[fax]\nimage_dither = $d|" "$conf" >"$work/dither.conf"
      chmod 600 "$work/dither.conf"
      "$bin/sms2fax" --config "$work/dither.conf" --from 1 --to 2 --no-call \
        --output "$work/pic.tiff" --image "$work/pics/$pic.png" >/dev/null 2>&1 || continue
      read -r _ secs _ pages _ < <("$work/faxcall" "$work/pic.tiff" "$work/rx.tiff" 2>/dev/null)
      pages=${pages%,}
      [[ $pic/$d == photo/auto ]] && photo_secs=$secs
      say "| $pic | $d | $pages | $(stat -c %s "$work/pic.tiff") | $secs | $(awk -v s="$secs" -v p="$pages" 'BEGIN { if (p > 0) printf "%.1f", s / p; else print "-" }') |"
    done
  done
  "$bin/sms2fax" --config "$conf" --from 1 --to 2 --no-call --output "$work/tall.tiff" \
    --image "$work/pics/tall.png" >/dev/null 2>&1
  read -r _ secs _ pages _ < <("$work/faxcall" "$work/tall.tiff" "$work/rx.tiff" 2>/dev/null)
  say
  say "A 1000 x 6000 photo (default dither): ${pages%,} pages received whole in $secs s of call."
  summary+=("| fax photo page at fine, call time (default dither) | <= 150 s (aim 90 s) | ${photo_secs:-?} s | |")
else
  note "skipped: tests/bench/faxcall.cpp or faxpictures.cpp did not build (libspandsp-dev, libmagick++-dev)"
fi
say
fi
fi

# ---------- voice ----------
if want voice; then
say "## Voice: sms2voice against espeak-ng -w then ffmpeg -ar 8000"
say
voice() { "$bin/sms2voice" --config "$conf" --from 48500100200 --to 600700800 --extension DAHDI/1 \
  --scts 2026-11-29T22:53:42 --mr 7 --no-call --output "$2" <"$1"; }
# The peer speaks what sms2voice speaks: the header with the number digit by digit, then the text.
peer_voice() { espeak-ng -v en -w "$2.22k.wav" "Message from 4 8 5 0 0 1 0 0 2 0 0. $(cat "$1")" &&
  ffmpeg -nostdin -loglevel error -y -i "$2.22k.wav" -ar 8000 -ac 1 "$2"; }
export -f voice peer_voice
if usable sms2voice voice "$work/one.txt" "$work/one.wav"; then
  hyperfine --shell bash --style none --warmup 1 --runs "$runs" --export-csv "$work/voice.csv" \
    -n sms2voice "voice $work/one.txt $work/one.wav" \
    -n peer "peer_voice $work/one.txt $work/peer.wav" >/dev/null 2>&1
  ts=$(hf_median "$work/voice.csv" sms2voice)
  tp=$(hf_median "$work/voice.csv" peer)
  ms=$(peak_kib bash -c "voice $work/one.txt $work/one.wav")
  mp=$(peak_kib bash -c "peer_voice $work/one.txt $work/peer.wav")
  ratio=$(calc "%.1f" "$tp / $ts")
  dur() { calc "%.2f" "$(soxi -D "$1" 2>/dev/null || echo 0)"; }
  say "| input | sms2voice median | espeak-ng + ffmpeg median | ratio | sms2voice peak | peer peak | audio (s, sms2voice / peer) |"
  say "|---|---|---|---|---|---|---|"
  say "| 160 characters | $(calc "%.1f ms" "$ts * 1000") | $(calc "%.1f ms" "$tp * 1000") | **${ratio}x** | $(mib "$ms") | $(mib "$mp") | $(dur "$work/one.wav") / $(dur "$work/peer.wav") |"
  say
  say "$runs runs each (hyperfine, shell mode). sms2voice's audio includes its lead-in silence."
  say
  target "voice, 160 characters, speed vs espeak-ng + ffmpeg" ">= 3x" "${ratio}x" "$(calc "%s" "($ratio >= 3) ? \"met\" : \"missed\"")"
fi

fi

# ---------- operations: sms-queue ----------
if want queue; then
queue_items=${BENCH_QUEUE_ITEMS:-10000}
say "## Operations: sms-queue lists a spool of $queue_items items"
say
if usable sms-queue "$bin/sms-queue" --config "$conf" list; then
  fresh_spool
  mkdir -p "$spool/sms/morx/failed" "$spool/sms/morx/bad"
  # A mix of states: messages waiting for retry, dead letters and quarantined files with their
  # reasons beside them, and messages queued for phones (half of them with a delivery call).
  for ((i = 0; i < queue_items; i++)); do
    case $((i % 4)) in
    0) f=$spool/sms/morx/48500100200.2026-11-30T09:00:00-$i ;;
    1) f=$spool/sms/morx/failed/48500100200.2026-11-30T09:00:00-$i
       echo "gave up after 86401 s of temporary failures: directory unavailable" >"$f.why" ;;
    2) f=$spool/sms/morx/bad/48500100200.2026-11-30T09:00:00-$i
       echo "line 3: bad hex in ud##" >"$f.why" ;;
    3) f=$spool/sms/mttx/$((600700000 + i % dests)).$i-1 ;;
    esac
    printf 'oa=48500100200\nda=%s\nscts=2026-11-30T09:00:00\nud=Benchmark message %s\n' \
      $((600700000 + i % dests)) "$i" >"$f"
  done
  for ((i = 3; i < dests; i += 8)); do
    printf 'Channel: DAHDI/1\nApplication: SMS\nData: %s,s\n' $((600700000 + i)) \
      >"$spool/outgoing/smsq.mttx.$((600700000 + i)).1"
  done
  "$bin/sms-queue" --config "$conf" list >/dev/null # warm the cache: what an administrator sees
  for ((r = 0; r < 5; r++)); do
    s=$(date +%s.%N)
    "$bin/sms-queue" --config "$conf" list >"$work/queue.out"
    e=$(date +%s.%N)
    calc "%.4f\n" "$e - $s"
  done >"$work/queue.times"
  q_med=$(median <"$work/queue.times")
  q_json=$( { s=$(date +%s.%N); "$bin/sms-queue" --config "$conf" list --json >/dev/null; e=$(date +%s.%N); calc "%.4f" "$e - $s"; } )
  q_kib=$(peak_kib "$bin/sms-queue" --config "$conf" list)
  say "| listing | median of 5 | limit |"
  say "|---|---|---|"
  say "| \`sms-queue list\`, $(($(wc -l <"$work/queue.out") - 1)) items | $(calc "%.3f s" "$q_med") | 1 s |"
  say "| \`sms-queue list --json\` (one run) | $(calc "%.3f s" "$q_json") | 1 s |"
  say
  note "peak memory of the listing: $(mib "$q_kib"); summary: $(tail -1 "$work/queue.out")"
  target "sms-queue list, $queue_items items" "well under 1 s" "$(calc "%.3f s" "$q_med")" "$(calc "%s" "($q_med < 0.5) ? \"met\" : \"missed\"")"
fi
fi

# ---------- peak memory of every tool ----------
if want memory; then
say "## Peak memory of every tool (/usr/bin/time -v, Maximum resident set size)"
say
say "| tool | run | exit | peak memory |"
say "|---|---|---|---|"
fresh_spool
mem_row() {
  local tool=$1 what=$2
  shift 2
  if [[ ! -x $bin/$tool ]]; then
    say "| $tool | $what | - | skipped: not built in $bin |"
    return
  fi
  /usr/bin/time -v -o "$work/time.out" "$@" >/dev/null 2>&1
  local rc=$?
  local kib
  kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.out")
  if ((rc == 70)); then
    say "| $tool | $what | 70 | skipped: not implemented yet |"
  else
    say "| $tool | $what | $rc | $(mib "$kib") |"
  fi
}
mem_row sms-process "empty spool" "$bin/sms-process" --config "$conf"
[[ -n ${rm_kib:-} ]] && say "| sms-process | $messages messages (median above) | 0 | $(mib "$rm_kib") |"
mem_row getchaninfo "600700000" "$bin/getchaninfo" --config "$conf" 600700000
mem_row sms2fax "one page" bash -c "fax $work/one.txt $work/one.tiff"
mem_row sms2voice "160 characters" bash -c "voice $work/one.txt $work/one.wav"
mem_row post-sms "--from --to --text" "$bin/post-sms" --config "$conf" --from 48500100200 --to 600700000 --text "$sms160"
mem_row sms-send "--dry-run, 160 characters" "$bin/sms-send" --config "$conf" --from 9001 --to 600700000 --dry-run --text "$sms160"
mem_row sms-send "queue 3 parts" "$bin/sms-send" --config "$conf" --from 9001 --to 600700000 --text "$sms160 $sms160 $sms160"
mem_row callfile-gen "--stdout" "$bin/callfile-gen" --config "$conf" --channel DAHDI/1 --application SMS --data 600700000,s --stdout
mem_row send-sipim "no Asterisk listening (exit 69 path)" "$bin/send-sipim" --config "$conf" 9000 1000 --text hello
say

fi

# ---------- the targets ----------
say "## SPEC 7 targets"
say
say "| figure | target | measured | |"
say "|---|---|---|---|"
for row in "${summary[@]}"; do say "$row"; done
say
say "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
