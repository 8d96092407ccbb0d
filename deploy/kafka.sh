#!/usr/bin/env bash
# A single-node Apache Kafka 4.x broker (KRaft, broker and controller in one process) on loopback,
# from jars resolved on Maven Central with Maven, for tests and local trials. Java 17+ needed.
#
#   deploy/kafka.sh start DIR [PORT]   resolve jars (cached), format storage in DIR (once), start,
#                                       wait until the broker answers; prints bootstrap host:port.
#                                       Idempotent: a broker already running in DIR is reused.
#   deploy/kafka.sh stop DIR           stop the broker started in DIR, by its PID.
#
# The controller listens on PORT+1. Jars are cached in $REVISIT_KAFKA_CACHE
# (default ~/.cache/revisit/kafka-<version>) between runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,11s/^# \{0,1\}//p' "$0"; }
case ${1:-} in
  start | stop) ;;
  -h | --help | help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
command=$1
[ $# -ge 2 ] || { echo "kafka.sh $command: the data directory is missing" >&2; usage >&2; exit 2; }
dir=$(realpath -m "$2")
port=${3:-29092}
controller_port=$((port + 1))
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${REVISIT_KAFKA_CACHE:-$HOME/.cache/revisit/kafka-$version}

resolve_jars() {
  if [ -f "$cache/.complete" ]; then return; fi
  command -v mvn >/dev/null || { echo "kafka.sh: Maven (mvn) is needed to fetch the broker jars" >&2; exit 1; }
  mkdir -p "$cache"
  echo "kafka.sh: resolving Apache Kafka $version from Maven Central into $cache" >&2
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$cache/libs" >&2
  touch "$cache/.complete"
}

running_pid() {
  local pid
  [ -f "$dir/broker.pid" ] || return 1
  pid=$(cat "$dir/broker.pid")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

java_run() {
  java -Xms128m -Xmx512m -XX:+UseSerialGC -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$cache/libs/*" "$@"
}

answers() {
  # the broker answers when a TCP connection to its listener succeeds and metadata is served
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null
}

case "$command" in
  start)
    if running_pid >/dev/null; then
      echo "127.0.0.1:$(cat "$dir/port")"
      exit 0
    fi
    resolve_jars
    mkdir -p "$dir"
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
EOF
    if [ ! -f "$dir/data/meta.properties" ]; then
      cluster_id=$(java_run kafka.tools.StorageTool random-uuid | tail -n 1)
      java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
        || { cat "$dir/format.log" >&2; exit 1; }
    fi
    : >"$dir/server.log"
    nohup java -Xms128m -Xmx512m -XX:+UseSerialGC -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      -cp "$cache/libs/*" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
    echo $! >"$dir/broker.pid"
    echo "$port" >"$dir/port"
    for _ in $(seq 1 120); do
      if answers; then
        echo "127.0.0.1:$port"
        exit 0
      fi
      if ! running_pid >/dev/null; then
        echo "kafka.sh: broker exited during start; see $dir/server.log and $dir/stdout.log" >&2
        tail -n 20 "$dir/stdout.log" >&2 || true
        exit 1
      fi
      sleep 0.5
    done
    echo "kafka.sh: broker did not answer on port $port within 60 s; see $dir/server.log" >&2
    exit 1
    ;;
  stop)
    pid=$(running_pid) || exit 0
    kill -TERM "$pid" 2>/dev/null || exit 0
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || { rm -f "$dir/broker.pid"; exit 0; }
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/broker.pid"
    ;;
  *)
    echo "usage: kafka.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
