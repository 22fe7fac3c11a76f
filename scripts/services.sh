#!/usr/bin/env bash
# Project-local PostgreSQL and Redis for running and testing Agora.
#
#   scripts/services.sh install        install missing Debian packages (apt-get; sudo when not root)
#   scripts/services.sh start          start PostgreSQL and Redis under .local/ (idempotent)
#   scripts/services.sh stop           stop them
#   scripts/services.sh status         say what runs where
#   scripts/services.sh createdb NAME  create database NAME owned by the agora role (idempotent)
#   scripts/services.sh recreatedb NAME  drop database NAME if it exists and create it empty (the browser tests)
#   scripts/services.sh env NAME       print AGORA_DATABASE_URL / AGORA_REDIS_URL exports for database NAME
#
# Nothing here touches the machine's default PostgreSQL cluster or Redis: the data lives in .local/ (git-ignored),
# on ports AGORA_LOCAL_PG_PORT (55432) and AGORA_LOCAL_REDIS_PORT (56379).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
local_dir="$root/.local"
pg_port="${AGORA_LOCAL_PG_PORT:-55432}"
redis_port="${AGORA_LOCAL_REDIS_PORT:-56379}"
pg_data="$local_dir/postgres"
pg_run="$local_dir/run"
redis_dir="$local_dir/redis"
packages=(libpq-dev libhiredis-dev libssl-dev zlib1g-dev libvips-dev pkg-config postgresql postgresql-contrib redis-server)

log() { printf '[services] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # Debian's postgresql package starts the machine's own cluster; we leave it alone and run our own.
}

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] || { log "PostgreSQL server binaries not found; run: $0 install"; exit 1; }
    echo "$dir"
}

# PostgreSQL refuses to run as root: when we are root, the cluster belongs to the 'postgres' user.
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

psql_admin() {
    as_pg "$(pg_bin)/psql" -h "$pg_run" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"
}

start_postgres() {
    local bin
    bin="$(pg_bin)"
    mkdir -p "$local_dir"
    if [ ! -s "$pg_data/PG_VERSION" ]; then
        log "initialising PostgreSQL in $pg_data"
        mkdir -p "$pg_data" "$pg_run"
        [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pg_data" "$pg_run"
        # The postgres user must be able to reach .local/ through the checkout's parent folders.
        if ! as_pg test -w "$pg_data"; then
            log "user $(pg_user) cannot write $pg_data; move the checkout somewhere it can reach"; exit 1
        fi
        as_pg "$bin/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    mkdir -p "$pg_run"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$pg_run"
    if as_pg "$bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
        log "PostgreSQL already running on 127.0.0.1:$pg_port"
    else
        log "starting PostgreSQL on 127.0.0.1:$pg_port"
        if ! as_pg "$bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 start \
            -o "-p $pg_port -k $pg_run -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
            log "PostgreSQL did not start; the end of $pg_data/server.log:"
            tail -n 5 "$pg_data/server.log" >&2
            log "(another server on port $pg_port? set AGORA_LOCAL_PG_PORT to use another port)"
            exit 1
        fi
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'agora'")" != 1 ]; then
        psql_admin -c "CREATE ROLE agora LOGIN PASSWORD 'agora'"
    fi
}

createdb() {
    local name="$1"
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]; then
        log "creating database $name"
        psql_admin -c "CREATE DATABASE \"$name\" OWNER agora"
    fi
    # Extensions later migrations use; only a superuser may create them.
    as_pg env PGOPTIONS="-c client_min_messages=warning" "$(pg_bin)/psql" -h "$pg_run" -p "$pg_port" -U postgres -d "$name" -v ON_ERROR_STOP=1 -qAt \
        -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" -c "CREATE EXTENSION IF NOT EXISTS fuzzystrmatch" -c "CREATE EXTENSION IF NOT EXISTS citext" >/dev/null
}

start_redis() {
    mkdir -p "$redis_dir"
    if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
        log "Redis already running on 127.0.0.1:$redis_port"
        return
    fi
    log "starting Redis on 127.0.0.1:$redis_port"
    redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes --dir "$redis_dir" \
        --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" --save "" --appendonly no
    for _ in $(seq 1 50); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    log "Redis did not start; see $redis_dir/redis.log"; exit 1
}

stop() {
    if [ -s "$pg_data/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
        as_pg "$(pg_bin)/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null && log "PostgreSQL stopped"
    fi
    if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
        log "Redis stopped"
    fi
}

case "${1:-}" in
    install) install ;;
    start) install; start_postgres; start_redis ;;
    stop) stop ;;
    createdb) createdb "${2:?database name}" ;;
    recreatedb)
        psql_admin -c "DROP DATABASE IF EXISTS \"${2:?database name}\" WITH (FORCE)"
        createdb "$2"
        ;;
    env)
        echo "export AGORA_DATABASE_URL=postgres://agora:agora@127.0.0.1:$pg_port/${2:?database name}?sslmode=disable"
        echo "export AGORA_REDIS_URL=redis://127.0.0.1:$redis_port/0"
        ;;
    status)
        as_pg "$(pg_bin)/pg_ctl" -D "$pg_data" status 2>/dev/null | head -1 || echo "PostgreSQL: not running"
        redis-cli -p "$redis_port" ping 2>/dev/null | sed 's/^/Redis: /' || echo "Redis: not running"
        ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
esac
