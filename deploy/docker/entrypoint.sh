#!/bin/sh
# Runs one IKM service by name (or the topic-creation job), as PID 1 via exec so
# SIGTERM reaches uvicorn and in-flight requests finish.
#   ikm-service registry|subsidy|training|notify|insights   HTTP API + consumers on <NAME>_PORT
#   ikm-service topics                                      create the versioned Kafka topics, then exit
# Service names, ports and variables are checked against the settings classes by
# tests/deploy/test_drift.py.
set -eu

service="${1:-${IKM_SERVICE:-}}"
case "$service" in
  registry) port="${REGISTRY_PORT:-8001}" ;;
  subsidy)  port="${SUBSIDY_PORT:-8002}" ;;
  training) port="${TRAINING_PORT:-8003}" ;;
  notify)   port="${NOTIFY_PORT:-8004}" ;;
  insights) port="${INSIGHTS_PORT:-8005}" ;;
  topics)   exec python /opt/ikm/create_topics.py ;;
  *)
    echo "usage: ikm-service registry|subsidy|training|notify|insights|topics" >&2
    exit 64
    ;;
esac

# --timeout-keep-alive: longer than the ingress or load balancer keeps an idle connection to
# send on (60 s), so it always closes first (ikm_cli/launcher.py KEEP_ALIVE_SECONDS).
# --loop asyncio: under load uvloop left a few connections waiting seconds (registry p99
# 1.1-1.2 s, max 2.4 s vs 0.14 s / 0.15 s on the stdlib loop; docs/performance.md "Registry").
exec uvicorn "services.${service}.main:create_app" --factory \
  --host 0.0.0.0 --port "$port" --loop asyncio --http httptools \
  --no-access-log --proxy-headers --forwarded-allow-ips '*' \
  --timeout-graceful-shutdown 20 \
  --timeout-keep-alive "${UVICORN_TIMEOUT_KEEP_ALIVE:-75}" \
  --log-config /opt/ikm/uvicorn-logging.json
