# Sourced by scripts/test and .ci/run: starts a private redis-server on a free loopback
# port for the tests that need a real server, and stops it (by its pid) when the sourcing
# shell exits, on success or failure.
#
#     source scripts/redis-server.sh
#     redis_server_start || die "redis-server did not start"   # exports the variables below
#
# Exports FLASKCACHE_REDIS_URL=redis://127.0.0.1:PORT (the tests that need a server read it;
# without it they start their own when redis-server is on PATH), FLASKCACHE_REDIS_PORT and
# FLASKCACHE_REDIS_PID. The server keeps nothing on disk (`--save '' --appendonly no`); its
# log is target/redis-server.PORT.log. Ports are probed from FLASKCACHE_REDIS_FIRST_PORT
# (16379) upwards.
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
FLASKCACHE_REDIS_PID=""

# Whether something already listens on 127.0.0.1:$1.
redis_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the server started by redis_server_start (by its pid; idempotent).
redis_server_stop() {
  local pid=$FLASKCACHE_REDIS_PID
  [ -n "$pid" ] || return 0
  FLASKCACHE_REDIS_PID=""
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    echo "redis-server (pid $pid) stopped"
  fi
}

# Starts redis-server on the first free port, waits until it answers PING, installs the
# exit trap and exports FLASKCACHE_REDIS_URL. Fails when redis-server or redis-cli is
# missing or no server answered.
redis_server_start() {
  command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; return 1; }
  command -v redis-cli >/dev/null || { echo "redis-cli is not installed" >&2; return 1; }
  mkdir -p "$root/target"
  local port first=${FLASKCACHE_REDIS_FIRST_PORT:-16379} pid log i
  for port in $(seq "$first" $((first + 20))); do
    redis_port_busy "$port" && continue
    log="$root/target/redis-server.$port.log"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize no --logfile "$log" </dev/null >/dev/null 2>&1 &
    pid=$!
    FLASKCACHE_REDIS_PID=$pid
    # The first time the trap is needed, install it (kept for every later start).
    trap 'redis_server_stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break # exited: the port was taken meanwhile
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
        export FLASKCACHE_REDIS_URL="redis://127.0.0.1:$port"
        export FLASKCACHE_REDIS_PORT=$port FLASKCACHE_REDIS_PID=$pid
        echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $pid, log $log)"
        return 0
      fi
      sleep 0.1
    done
    redis_server_stop
  done
  echo "no redis-server answered on ports $first-$((first + 20)) (logs: $root/target/redis-server.*.log)" >&2
  return 1
}
