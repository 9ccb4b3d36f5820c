#!/bin/sh
# supervise.sh COMMAND [ARG...]: run COMMAND and start it again whenever it exits (a Celery
# worker or beat killed, crashed, or out of memory), as `make run-prod` does for both. Between
# restarts it waits 1 s, then 2, 4, ... up to SUPERVISE_MAX_BACKOFF (default 30) seconds while
# the command keeps dying; a run of SUPERVISE_HEALTHY_SECONDS (default 60) starts again at 1 s.
# SIGTERM/SIGINT stop the command (a Celery warm shutdown), wait for it, and end the loop.
# Without make, run the systemd units of docs/deployment.md instead.
set -u
max_backoff=${SUPERVISE_MAX_BACKOFF:-30}
healthy=${SUPERVISE_HEALTHY_SECONDS:-60}
delay=1
running=

stop() {
    trap - TERM INT
    if [ -n "$running" ]; then
        kill -TERM "$running" 2>/dev/null
        wait "$running"
    fi
    exit 0
}
trap stop TERM INT

while :; do
    started=$(date +%s)
    "$@" &
    running=$!
    wait "$running"
    status=$?
    ran=$(($(date +%s) - started))
    if [ "$ran" -ge "$healthy" ]; then
        delay=1
    fi
    echo "supervise: '$*' (pid $running) exited with status $status after ${ran} s;" \
        "starting it again in ${delay} s" >&2
    sleep "$delay" &
    running=$!
    wait "$running"
    delay=$((delay * 2))
    if [ "$delay" -gt "$max_backoff" ]; then
        delay=$max_backoff
    fi
done
