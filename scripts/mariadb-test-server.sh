#!/usr/bin/env bash
# Starts and stops a throwaway MariaDB server in a folder of its own, for the directory tests.
#
#   mariadb-test-server.sh start DIR    install a data folder in DIR, start mariadbd, wait until it
#                                       answers; prints "socket=..." "port=..." "pid=..." lines
#   mariadb-test-server.sh stop DIR     stop it (TERM, then KILL after 10 s) and wait for it
#   mariadb-test-server.sh client DIR [mariadb args...]
#                                       run the mariadb client on it as root (SQL from stdin)
#
# It never touches the system server: --no-defaults everywhere (/etc/mysql points at
# /run/mysqld), its own datadir, socket and pid file, a free port on 127.0.0.1 only, small InnoDB
# sizes. root has no password (--auth-root-authentication-method=normal) so that it works for any
# OS user; run as root, mariadbd gets --user=root (it refuses to run as root otherwise), run as
# anyone else, no --user at all (install-db would try to chown to it). Its output goes
# to DIR/mariadbd.log: a caller capturing our stdout would otherwise wait for it forever.
# A missing mariadbd is an error (exit 69), never a skip: CI must run these tests.
set -euo pipefail

die() {
  echo "mariadb-test-server: error: $*" >&2
  exit "${code:-69}"
}

find_prog() {
  local p
  for p in "$@"; do
    if command -v "$p" >/dev/null 2>&1; then command -v "$p"; return 0; fi
    for d in /usr/sbin /usr/local/sbin /usr/bin; do
      [[ -x $d/$p ]] && { echo "$d/$p"; return 0; }
    done
  done
  return 1
}

(($# >= 2)) || { code=64; die "usage: $0 start|stop|client DIR [args...]"; }
action=$1
dir=$(cd "$2" 2>/dev/null && pwd) || { code=64; die "$2: no such folder"; }
shift 2
sock=$dir/mysqld.sock
as_user=()
((EUID == 0)) && as_user=(--user=root)

client() {
  local mariadb
  mariadb=$(find_prog mariadb mysql) || die "the mariadb client is not installed (mariadb-client)"
  "$mariadb" --no-defaults --protocol=socket --socket="$sock" --user=root "$@"
}

case $action in
start)
  mariadbd=$(find_prog mariadbd mysqld) || die "mariadbd is not installed (package mariadb-server)"
  install_db=$(find_prog mariadb-install-db mysql_install_db) ||
    die "mariadb-install-db is not installed (package mariadb-server)"
  admin=$(find_prog mariadb-admin mysqladmin) || die "mariadb-admin is not installed"
  if [[ -e $dir/mariadbd.pid ]] && kill -0 "$(cat "$dir/mariadbd.pid")" 2>/dev/null; then
    die "a server already runs in $dir"
  fi
  # A temporary folder of its own: mariadbd clears leftover #sql* files from its tmpdir as it
  # starts, so servers sharing /tmp (tests run in parallel) delete each other's temporary tables.
  mkdir -p "$dir/tmp"
  if [[ ! -d $dir/data/mysql ]]; then
    "$install_db" --no-defaults "${as_user[@]}" --datadir="$dir/data" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
      >"$dir/install.log" 2>&1 || die "mariadb-install-db failed: $(tail -5 "$dir/install.log")"
  fi
  started=
  for attempt in 1 2 3 4 5; do
    # A random port, checked free; a race with another process is retried with the next one.
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if command -v ss >/dev/null && [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]]; then
      continue
    fi
    rm -f "$sock" "$dir/mariadbd.pid"
    "$mariadbd" --no-defaults "${as_user[@]}" --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$sock" \
      --pid-file="$dir/mariadbd.pid" --port="$port" --bind-address=127.0.0.1 \
      --skip-name-resolve --log-error="$dir/mariadbd.log" --innodb-buffer-pool-size=8M \
      --innodb-log-file-size=4M --key-buffer-size=1M --max-connections=20 \
      --skip-log-bin --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
      </dev/null >>"$dir/mariadbd.out" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/mariadbd.launch-pid"
    for _ in $(seq 1 300); do # up to 30 s on a busy machine
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if [[ -S $sock ]] &&
        "$admin" --no-defaults --protocol=socket --socket="$sock" --user=root \
          --connect-timeout=2 ping >/dev/null 2>&1; then
        started=1
        break
      fi
      sleep 0.1
    done
    [[ -n $started ]] && break
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      die "mariadbd did not answer within 30 s: $(tail -5 "$dir/mariadbd.log" 2>/dev/null)"
    fi
    wait "$pid" 2>/dev/null || true
    # It exited: if the port was taken, try another one; anything else is fatal.
    grep -q "Address already in use\|Can't start server: Bind" "$dir/mariadbd.log" 2>/dev/null ||
      die "mariadbd exited: $(tail -5 "$dir/mariadbd.log" 2>/dev/null)"
  done
  [[ -n $started ]] || die "mariadbd could not find a free port"
  echo "$port" >"$dir/port"
  echo "socket=$sock"
  echo "port=$port"
  echo "pid=$pid"
  ;;
stop)
  pidfile=$dir/mariadbd.pid
  [[ -f $pidfile ]] || pidfile=$dir/mariadbd.launch-pid
  [[ -f $pidfile ]] || exit 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -CONT "$pid" 2>/dev/null || true # a test may have stopped it with SIGSTOP
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$dir/mariadbd.pid" "$dir/mariadbd.launch-pid"
  ;;
client)
  client "$@"
  ;;
*)
  code=64
  die "unknown action '$action' (start, stop, client)"
  ;;
esac
