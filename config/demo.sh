#!/usr/bin/env bash
# `make run`: the berth daemon in the foreground on a demo root, with a busybox image.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${BERTH_DEMO_ROOT:-/tmp/berth-demo}
SOCK="$ROOT/berth.sock"
mkdir -p "$ROOT"
export BERTH_HOST="unix://$SOCK"
[ -f "$ROOT/busybox.tar" ] || .venv/bin/python -m supervisor.images.tarball "$ROOT/busybox.tar"
.venv/bin/berth daemon --data-root "$ROOT/data" --exec-root "$ROOT/exec" -H "$BERTH_HOST" &
DAEMON=$!
trap 'kill -TERM $DAEMON 2>/dev/null; wait $DAEMON' INT TERM
for _ in $(seq 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
.venv/bin/berth images -q busybox | grep -q . || .venv/bin/berth import "$ROOT/busybox.tar" busybox:latest >/dev/null
cat <<MSG

berth is running (pid $DAEMON). In another terminal:

  export BERTH_HOST=$BERTH_HOST DOCKER_HOST=$BERTH_HOST
  .venv/bin/berth run --rm busybox echo hello
  .venv/bin/berth run -d --name web busybox httpd -f -p 8080
  .venv/bin/berth ps
  .venv/bin/berth stop web
  .venv/bin/berth run --rm host python3 -c 'print("isolated host program")'
  .venv/bin/berth events --since 10m --until 0s
  docker ps -a        # the docker CLI talks to berth too

Ctrl-C here stops the daemon and its containers.
MSG
wait $DAEMON
