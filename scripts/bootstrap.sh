#!/usr/bin/env bash
# Make a fresh machine ready: uv, the locked environment, Postgres and RabbitMQ running.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }

if ! command -v uv >/dev/null 2>&1; then
  log "installing uv from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -z "${DATABASE_URL:-}" ] && ! port_open 5432; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi
if [ -z "${AMQP_URL:-}" ] && ! port_open 5672; then
  log "starting RabbitMQ"
  rabbitmq-server -detached
fi
for i in $(seq 1 60); do
  { [ -n "${DATABASE_URL:-}" ] || port_open 5432; } && { [ -n "${AMQP_URL:-}" ] || port_open 5672; } && break
  sleep 1
done

log "syncing the locked environment"
uv sync --frozen --all-packages --quiet
