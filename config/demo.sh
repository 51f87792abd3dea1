#!/usr/bin/env bash
# `make run`: the berth daemon in the foreground on a demo root, keeping the services of
# config/demo.yml running (a health-checked web server on port 8080, a worker with
# restart: on-failure, a log-chatty service).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${BERTH_DEMO_ROOT:-/tmp/berth-demo}
SOCK="$ROOT/berth.sock"
mkdir -p "$ROOT"
export BERTH_HOST="unix://$SOCK"
[ -f "$ROOT/busybox.tar" ] || .venv/bin/python -m supervisor.images.tarball "$ROOT/busybox.tar"
.venv/bin/berth daemon --data-root "$ROOT/data" --exec-root "$ROOT/exec" -H "$BERTH_HOST" \
    -c config/demo.yml &
DAEMON=$!
# Ctrl-C reaches the daemon too (the same process group): wait for its graceful stop, for
# a second signal would make it exit at once. Whatever else ends this script (TERM, a
# failing step) stops the daemon it started.
trap 'wait $DAEMON 2>/dev/null; DAEMON=' INT
trap '[ -z "$DAEMON" ] || { kill -TERM $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null; }' TERM EXIT
for _ in $(seq 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
if ! .venv/bin/berth images -q busybox | grep -q .; then
    .venv/bin/berth import "$ROOT/busybox.tar" busybox:latest >/dev/null
    # The first boot found no busybox image: the reload picks the waiting services up.
    .venv/bin/berth reload || true
fi
cat <<MSG

berth is running (pid $DAEMON) with the services of config/demo.yml. In another terminal:

  export BERTH_HOST=$BERTH_HOST DOCKER_HOST=$BERTH_HOST
  .venv/bin/berth ps                                   # web (healthy), worker, chatty
  curl http://127.0.0.1:8080/                          # the web service
  .venv/bin/berth compose -f config/demo.yml logs -f chatty
  .venv/bin/berth stats                                # live CPU/memory (Ctrl-C to leave)
  \$EDITOR config/demo.yml && .venv/bin/berth reload   # changed services are recreated
  .venv/bin/berth events --since 10m --until 0s
  docker ps -a                                         # the docker CLI talks to berth too

Ctrl-C here stops the daemon and its containers.
MSG
wait $DAEMON
