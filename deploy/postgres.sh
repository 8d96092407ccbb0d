#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, from Debian's packages, for tests and local trials.
#
#   deploy/postgres.sh start DIR [PORT]   initdb in DIR (once), start, wait until it answers;
#                                          prints the SQLAlchemy URL. Idempotent.
#   deploy/postgres.sh stop DIR           stop the server started in DIR, by its PID.
#
# Installs the `postgresql` package with apt-get when no server binaries are found (root only).
set -euo pipefail

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }
case ${1:-} in
  start | stop) ;;
  -h | --help | help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
command=$1
[ $# -ge 2 ] || { echo "postgres.sh $command: the data directory is missing" >&2; usage >&2; exit 2; }
dir=$(realpath -m "$2")
port=${3:-55432}

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "postgres.sh: installing PostgreSQL from Debian packages" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      found=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
      echo "postgres.sh: PostgreSQL server binaries not found; install the postgresql package" >&2
      exit 1
    fi
  fi
  echo "$found"
}

# initdb refuses to run as root: run the server as the unprivileged `postgres` user then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pid_of() {
  [ -f "$dir/data/postmaster.pid" ] && head -n 1 "$dir/data/postmaster.pid" || true
}

case "$command" in
  start)
    bin=$(find_bin)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    pid=$(pid_of)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "postgresql+psycopg://postgres@127.0.0.1:$(sed -n 4p "$dir/data/postmaster.pid")/postgres"
      exit 0
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c full_page_writes=off" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    for _ in $(seq 1 60); do
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
        exit 0
      fi
      sleep 0.5
    done
    echo "postgres.sh: server did not answer on port $port; see $dir/server.log" >&2
    exit 1
    ;;
  stop)
    pid=$(pid_of)
    if [ -z "$pid" ]; then exit 0; fi
    # SIGINT is PostgreSQL's "fast" shutdown (pg_ctl's default): sessions are ended and the server
    # stops cleanly at once. SIGTERM ("smart") waited for every client to hang up, and a worker
    # holding its pool never does: each stop then took the whole 30 s wait and a SIGKILL.
    kill -INT "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || exit 0
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
