#!/bin/sh
# Serve the pod's hostname on :8080 (PORT overrides). The shell stays PID 1 and
# traps TERM, so a pod stops at once instead of waiting out the kill timeout
# (PID 1 ignores signals it has no handler for).
PORT=${PORT:-8080}
hostname > /www/index.html
httpd -f -v -p "$PORT" -h /www &
child=$!
trap 'kill "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
echo "serving $(hostname) on :$PORT"
wait "$child"
