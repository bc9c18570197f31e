#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests of the PostgreSQL log.
#
#   eval "$(bash tests/postgres/cluster.sh start)"   # prints the exports below
#   eval "$(bash tests/postgres/cluster.sh start --durable)"   # fsync and synchronous commits
#                                                               # on, as a real server (bench)
#   bash tests/postgres/cluster.sh stop "$PULSE_TEST_PG_DIR"
#
# `start` installs PostgreSQL from Debian's packages when no initdb is found (as root, or
# through sudo), makes a cluster in a temp dir owned by a non-root user (initdb refuses root),
# listening on 127.0.0.1 at a free port and on a Unix socket in that dir only, with password
# authentication over TCP, and prints:
#   PULSE_TEST_POSTGRES  admin URL (user postgres, its password in the URL) the tests make
#                        one database per test with
#   PULSE_TEST_PG_DIR    the cluster's dir, for `stop`
set -euo pipefail

find_bin() {
  local dir
  for dir in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

start() {
  local bin durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [[ "${1:-}" == --durable ]] && durability=""
  if ! bin=$(find_bin); then
    [[ -z "${PULSE_PG_NO_INSTALL:-}" ]] || { echo "no PostgreSQL installed" >&2; exit 1; }
    echo "installing PostgreSQL from Debian's packages" >&2
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
  fi
  local dir owner=""
  dir=$(mktemp -d /tmp/pulse-pg.XXXXXX)
  if [[ $(id -u) -eq 0 ]]; then
    owner=nobody
    chown "$owner" "$dir"
  fi
  run() {
    if [[ -n "$owner" ]]; then
      runuser -u "$owner" -- "$@"
    else
      "$@"
    fi
  }
  local password port
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$password" > "$dir/pwfile"
  [[ -n "$owner" ]] && chown "$owner" "$dir/pwfile"
  run "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  run "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 $durability" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  echo "export PULSE_TEST_POSTGRES='postgres://postgres:$password@127.0.0.1:$port/postgres'"
  echo "export PULSE_TEST_PG_DIR='$dir'"
  echo "export PULSE_TEST_PG_BIN='$bin'"
}

stop() {
  local dir=$1 bin
  bin=$(find_bin)
  [[ -d "$dir/data" ]] || return 0
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u nobody -- "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  else
    "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:?the cluster dir}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
