#!/usr/bin/env bash
# Cluster mode on this one machine: Redis, two silos, two front ends in client mode (:5000, :5001).
# Installs Debian's redis-server when it is missing, builds once in Release, runs the built dlls,
# waits until both front ends are healthy, prints the URLs, and runs until Ctrl-C or SIGTERM; then
# stops the front ends and the silos (SIGTERM: a silo leaves the cluster), then Redis.
# State (Redis' append-only file, so the rooms' feed history survives a restart) and one log per
# process are kept in .cluster/ (.cluster/logs/<name>.log).
# Environment: REDIS_PORT (6379), PUBLISH_KEY (else one is generated once, kept in
# .cluster/publish-key), HEALTH_TIMEOUT (90 seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

redis_port=${REDIS_PORT:-6379}
health_timeout=${HEALTH_TIMEOUT:-90}
state="$root/.cluster"
logs="$state/logs"
silo_ports=(11111 11112)
gateway_ports=(30000 30001)
dashboard_ports=(8080 8081)
web_ports=(5000 5001)

scripts/ensure-packages.sh redis-server

# True when something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if listening "$redis_port"; then
  if [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = "PONG" ]; then
    echo "cluster: a Redis that this script did not start already answers on 127.0.0.1:$redis_port" >&2
    echo "         (Debian's service? 'systemctl stop redis-server'). Stop it, or use another port:" >&2
    echo "         REDIS_PORT=6380 scripts/cluster.sh" >&2
  else
    echo "cluster: port $redis_port is already in use (not by a Redis); set REDIS_PORT to a free port" >&2
  fi
  exit 1
fi
for port in "${silo_ports[@]}" "${gateway_ports[@]}" "${dashboard_ports[@]}" "${web_ports[@]}"; do
  if listening "$port"; then
    echo "cluster: port $port is already in use (silos use ${silo_ports[*]}, gateways ${gateway_ports[*]}," >&2
    echo "         silo dashboards ${dashboard_ports[*]}, front ends ${web_ports[*]}); is another cluster.sh or 'dotnet run' still running?" >&2
    exit 1
  fi
done

mkdir -p "$state/redis" "$logs"
if [ -n "${PUBLISH_KEY:-}" ]; then
  key=$PUBLISH_KEY
else
  [ -s "$state/publish-key" ] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$state/publish-key"
  key=$(cat "$state/publish-key")
fi

echo "Building (Release)..."
dotnet build -c Release src/Silo/Silo.csproj -v quiet -nologo
dotnet build -c Release src/WebFrontend/WebFrontend.csproj -v quiet -nologo
silo_dll="$root/src/Silo/bin/Release/net10.0/Presence.Silo.dll"
web_dll="$root/src/WebFrontend/bin/Release/net10.0/Presence.WebFrontend.dll"

names=()
pids=()
redis_pid=""
stopping=""

# SIGTERM to a group of processes; waits for them, at most $1 seconds, then kills what is left.
stop_group() {
  local limit=$1 pid deadline
  shift
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + limit))
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "  pid $pid did not stop within $limit s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

# The front ends first (ASP.NET Core waits up to 30 s for open requests, event streams included),
# then the silos (SIGTERM: each leaves the cluster gracefully, within 20 s), then Redis, which they
# use until the end. Whatever does not stop in time is killed, so nothing is left behind.
stop_all() {
  [ -z "$stopping" ] || return 0
  stopping=1
  trap '' INT TERM HUP
  local i web=() silos=()
  for i in "${!pids[@]}"; do
    case ${names[i]} in
      web*) web+=("${pids[i]}") ;;
      *) silos+=("${pids[i]}") ;;
    esac
  done
  echo
  if ((${#web[@]})); then
    echo "Stopping the front ends..."
    stop_group 40 "${web[@]}"
  fi
  if ((${#silos[@]})); then
    echo "Stopping the silos..."
    stop_group 30 "${silos[@]}"
  fi
  if [ -n "$redis_pid" ]; then
    echo "Stopping Redis..."
    stop_group 15 "$redis_pid"
  fi
  echo "Stopped."
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

show_logs() {
  local name
  for name in redis "${names[@]}"; do
    echo "--- .cluster/logs/$name.log (last lines)" >&2
    tail -n 15 "$logs/$name.log" >&2 2>/dev/null || true
  done
}

# Each process in a session of its own (setsid, same pid), so a Ctrl-C in the terminal reaches only
# this script, which then stops them in order.
echo "Starting Redis on 127.0.0.1:$redis_port (data in .cluster/redis)..."
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize no \
  --appendonly yes --dir "$state/redis" >"$logs/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = "PONG" ] && break
  kill -0 "$redis_pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" != "PONG" ]; then
  echo "cluster: Redis did not start" >&2
  show_logs
  exit 1
fi

# start NAME DIRECTORY DLL [VAR=value...] -- [arguments...]
start() {
  local name=$1 dir=$2 dll=$3 env=()
  shift 3
  while (($#)) && [ "$1" != "--" ]; do env+=("$1"); shift; done
  (($#)) && shift
  (cd "$dir" && exec setsid env ConnectionStrings__Redis="127.0.0.1:$redis_port" "${env[@]}" \
    dotnet "$dll" "$@") >"$logs/$name.log" 2>&1 &
  names+=("$name")
  pids+=($!)
}

for i in 0 1; do
  echo "Starting silo$((i + 1)) (silo port ${silo_ports[i]}, gateway ${gateway_ports[i]}, dashboard and metrics ${dashboard_ports[i]})..."
  start "silo$((i + 1))" src/Silo "$silo_dll" \
    Orleans__SiloPort="${silo_ports[i]}" Orleans__GatewayPort="${gateway_ports[i]}" Orleans__AdvertisedIP=127.0.0.1 \
    Dashboard__Port="${dashboard_ports[i]}" --
done
for i in 0 1; do
  echo "Starting web$((i + 1)) (http://localhost:${web_ports[i]})..."
  start "web$((i + 1))" src/WebFrontend "$web_dll" \
    Orleans__Mode=Client Feed__PublishKeys__0="$key" -- --urls "http://localhost:${web_ports[i]}"
done

echo "Waiting for both front ends to answer /health (at most ${health_timeout} s)..."
deadline=$((SECONDS + health_timeout))
while :; do
  healthy=0
  for port in "${web_ports[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://localhost:$port/health" || true)
    [ "$code" = "200" ] && healthy=$((healthy + 1))
  done
  ((healthy == ${#web_ports[@]})) && break
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[i]}" 2>/dev/null; then
      echo "cluster: ${names[i]} exited while starting" >&2
      show_logs
      exit 1
    fi
  done
  if ((SECONDS >= deadline)); then
    echo "cluster: the front ends were not healthy within ${health_timeout} s" >&2
    show_logs
    exit 1
  fi
  sleep 1
done

cat <<EOF

The cluster is up: Redis 127.0.0.1:$redis_port, silos :${silo_ports[0]} :${silo_ports[1]}, front ends :${web_ports[0]} :${web_ports[1]}.

  demo page    http://localhost:${web_ports[0]}/?room=lobby    http://localhost:${web_ports[1]}/?room=lobby
  dashboard    http://localhost:${dashboard_ports[0]}/dashboard/    (metrics: /metrics on each silo and front end)
  publish key  $key

  curl -N http://localhost:${web_ports[0]}/rooms/lobby/events
  curl -X POST http://localhost:${web_ports[1]}/rooms/lobby/events \\
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \\
    -d '{"type":"goal","data":{"team":"home","minute":42}}'
  curl http://localhost:${web_ports[0]}/rooms/lobby

Logs in .cluster/logs/. Ctrl-C stops everything.
EOF

# Until a signal, or until one of the processes exits on its own (then everything is stopped).
set +e
wait -n "$redis_pid" "${pids[@]}"
set -e
for i in "${!pids[@]}"; do
  kill -0 "${pids[i]}" 2>/dev/null || echo "cluster: ${names[i]} exited; stopping the others" >&2
done
kill -0 "$redis_pid" 2>/dev/null || echo "cluster: Redis exited; stopping the others" >&2
show_logs
exit 1
