#!/usr/bin/env bash
# A Hazelcast (open-source) member for development, tests and CI: no Docker, a plain Java process.
#
#   deploy/hazelcast.sh fetch
#       Downloads com.hazelcast:hazelcast:$HAZELCAST_VERSION (default 5.7.0, fallback 5.6.0) from
#       Maven Central into $STORM_CACHE/hazelcast (default ~/.cache/storm/hazelcast), outside the
#       repository. Idempotent. Prints the jar path. $STORM_HAZELCAST_JAR, if set, is used as is.
#   deploy/hazelcast.sh start [--port N] [--cluster-name NAME] [--dir DIR]
#       Starts a member in the background on 127.0.0.1 (TCP-IP join on 127.0.0.1 only, multicast and
#       auto-detection off), waits until its log says "is STARTED" (up to $HZ_START_TIMEOUT s,
#       default 90), and prints one JSON line: {"pid":..,"port":..,"clusterName":..,"log":..,"dir":..}.
#       Port: the given one, else the first free one from 5701. Cluster name: the given one, else
#       a unique generated one (members of different runs never join each other).
#   deploy/hazelcast.sh run --port N --cluster-name NAME [--dir DIR]
#       Same member in the foreground (exec: the java process replaces this shell, logging to
#       stdout/stderr). The test harness (tests/harness/hazelcast.ts) uses this.
#   deploy/hazelcast.sh stop PID
#       Stops a member started by `start` (SIGTERM, then SIGKILL after 20 s) and waits for it.
#
# Environment: HZ_HEAP (default 512m), HZ_JAVA (default java), HZ_START_TIMEOUT (default 90).
set -euo pipefail

CACHE_DIR="${STORM_CACHE:-$HOME/.cache/storm}/hazelcast"
VERSIONS=("${HAZELCAST_VERSION:-5.7.0}" 5.6.0)
JAVA="${HZ_JAVA:-java}"
HEAP="${HZ_HEAP:-512m}"

die() { echo "hazelcast.sh: $*" >&2; exit 1; }

# Prints the path of a cached jar, downloading it if needed. Safe to run concurrently: each
# download goes to a private temp dir and is moved into place atomically.
fetch() {
  if [[ -n "${STORM_HAZELCAST_JAR:-}" ]]; then
    [[ -f "$STORM_HAZELCAST_JAR" ]] || die "STORM_HAZELCAST_JAR=$STORM_HAZELCAST_JAR does not exist"
    echo "$STORM_HAZELCAST_JAR"; return
  fi
  local v jar tmp
  for v in "${VERSIONS[@]}"; do
    jar="$CACHE_DIR/hazelcast-$v.jar"
    if [[ -s "$jar" ]]; then echo "$jar"; return; fi
  done
  mkdir -p "$CACHE_DIR"
  for v in "${VERSIONS[@]}"; do
    jar="$CACHE_DIR/hazelcast-$v.jar"
    tmp="$(mktemp -d "$CACHE_DIR/.fetch-XXXXXX")"
    if command -v mvn >/dev/null 2>&1; then
      mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
        "-Dartifact=com.hazelcast:hazelcast:$v" "-DoutputDirectory=$tmp" >&2 || true
    elif command -v curl >/dev/null 2>&1; then
      curl -fsSL -o "$tmp/hazelcast-$v.jar" \
        "https://repo1.maven.org/maven2/com/hazelcast/hazelcast/$v/hazelcast-$v.jar" >&2 || true
    else
      rm -rf "$tmp"; die "neither mvn nor curl is installed: cannot download Hazelcast"
    fi
    if [[ -s "$tmp/hazelcast-$v.jar" ]]; then
      mv -f "$tmp/hazelcast-$v.jar" "$jar"
      rm -rf "$tmp"
      echo "$jar"; return
    fi
    rm -rf "$tmp"
    echo "hazelcast.sh: could not download com.hazelcast:hazelcast:$v" >&2
  done
  die "could not download Hazelcast ${VERSIONS[*]} from Maven Central"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  for ((p = 5701; p < 5801; p++)); do
    if ! port_in_use "$p"; then echo "$p"; return; fi
  done
  die "no free port in 5701-5800"
}

# Writes $dir/hazelcast.yaml for a single member on 127.0.0.1:$port in cluster $name.
write_config() {
  local dir="$1" port="$2" name="$3"
  cat >"$dir/hazelcast.yaml" <<EOF
hazelcast:
  cluster-name: "$name"
  properties:
    hazelcast.phone.home.enabled: false
    hazelcast.socket.bind.any: false
    hazelcast.wait.seconds.before.join: 0
    hazelcast.logging.type: jdk
  network:
    port:
      auto-increment: false
      port: $port
    interfaces:
      enabled: true
      interfaces:
        - 127.0.0.1
    join:
      auto-detection:
        enabled: false
      multicast:
        enabled: false
      tcp-ip:
        enabled: true
        member-list:
          - 127.0.0.1:$port
  jet:
    enabled: false
EOF
}

java_args() {
  local jar="$1" dir="$2"
  JAVA_ARGS=(
    "-Xms64m" "-Xmx$HEAP" "-XX:+UseSerialGC"
    "-Dhazelcast.config=$dir/hazelcast.yaml"
    "-Dhazelcast.phone.home.enabled=false"
    "--add-modules" "java.se"
    "--add-exports" "java.base/jdk.internal.ref=ALL-UNNAMED"
    "--add-opens" "java.base/java.lang=ALL-UNNAMED"
    "--add-opens" "java.base/sun.nio.ch=ALL-UNNAMED"
    "--add-opens" "java.management/sun.management=ALL-UNNAMED"
    "--add-opens" "jdk.management/com.sun.management.internal=ALL-UNNAMED"
    "-cp" "$jar"
    "com.hazelcast.core.server.HazelcastMemberStarter"
  )
}

parse_member_args() {
  PORT="" NAME="" DIR=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) PORT="$2"; shift 2 ;;
      --cluster-name) NAME="$2"; shift 2 ;;
      --dir) DIR="$2"; shift 2 ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [[ -z "$PORT" || "$PORT" =~ ^[0-9]+$ ]] || die "bad port: $PORT"
  [[ -z "$NAME" || "$NAME" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad cluster name (use [A-Za-z0-9._-]): $NAME"
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17 is needed to run a Hazelcast member)"
}

cmd_run() {
  parse_member_args "$@"
  [[ -n "$PORT" && -n "$NAME" ]] || die "run needs --port and --cluster-name"
  local jar; jar="$(fetch)"
  [[ -n "$DIR" ]] || DIR="$(mktemp -d "${TMPDIR:-/tmp}/storm-hz-XXXXXX")"
  mkdir -p "$DIR"
  write_config "$DIR" "$PORT" "$NAME"
  java_args "$jar" "$DIR"
  cd "$DIR"
  exec "$JAVA" "${JAVA_ARGS[@]}"
}

cmd_start() {
  parse_member_args "$@"
  [[ -n "$PORT" ]] || PORT="$(free_port)"
  port_in_use "$PORT" && die "port $PORT is already in use"
  [[ -n "$NAME" ]] || NAME="storm-$(date +%s)-$$-$RANDOM"
  local jar; jar="$(fetch)"
  [[ -n "$DIR" ]] || DIR="$(mktemp -d "${TMPDIR:-/tmp}/storm-hz-XXXXXX")"
  mkdir -p "$DIR"
  write_config "$DIR" "$PORT" "$NAME"
  java_args "$jar" "$DIR"
  local log="$DIR/member.log"
  (cd "$DIR" && exec nohup "$JAVA" "${JAVA_ARGS[@]}" >"$log" 2>&1 </dev/null) &
  local pid=$!
  local deadline=$((SECONDS + ${HZ_START_TIMEOUT:-90}))
  until grep -q "is STARTED" "$log" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$log" >&2 || true
      die "the member exited before it started (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      tail -n 40 "$log" >&2 || true
      die "the member did not start within ${HZ_START_TIMEOUT:-90} s (log: $log)"
    fi
    sleep 0.2
  done
  printf '{"pid":%d,"port":%d,"clusterName":"%s","address":"127.0.0.1:%d","log":"%s","dir":"%s"}\n' \
    "$pid" "$PORT" "$NAME" "$PORT" "$log" "$DIR"
}

cmd_stop() {
  local pid="${1:-}"
  [[ "$pid" =~ ^[0-9]+$ ]] || die "usage: hazelcast.sh stop PID"
  kill -0 "$pid" 2>/dev/null || return 0
  # Refuse to signal a process that is not a Hazelcast member.
  if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q HazelcastMemberStarter; then
    die "process $pid is not a Hazelcast member"
  fi
  kill -TERM "$pid" 2>/dev/null || return 0
  local i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "process $pid did not exit"
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; cmd_start "$@" ;;
  run) shift; cmd_run "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 fetch | start [--port N] [--cluster-name NAME] [--dir DIR] | run --port N --cluster-name NAME [--dir DIR] | stop PID" >&2; exit 2 ;;
esac
