#!/usr/bin/env bash
# The test command: guards (ruff, mypy, import contracts), then every test against the
# real Postgres and RabbitMQ. Installs what it needs on a fresh machine first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh

PACKAGES=(contracts common group_billing attendance stays charges claims edi_gateway clearinghouse_sandbox rcm_cli console)

log "ruff"
uv run --frozen ruff check .
uv run --frozen ruff format --check .
log "mypy (strict)"
uv run --frozen mypy $(printf -- '-p %s ' "${PACKAGES[@]}")
log "import contracts"
uv run --frozen lint-imports
log "contracts' JSON Schemas are current"
uv run --frozen python -m contracts.export_schemas --check
log "AsyncAPI documents are current"
uv run --frozen python -m common.asyncapi --check
log "message catalogue (docs/messages.md) is current"
uv run --frozen python -m common.message_catalogue --check
log "each package imports only what it declares (its own environment, no dev tools)"
for member in contracts:contracts libs/common:common libs/group-billing:group_billing \
    services/attendance:attendance \
    services/stays:stays services/charges:charges services/claims:claims \
    services/edi-gateway:edi_gateway services/console:console \
    tools/clearinghouse-sandbox:clearinghouse_sandbox tools/rcm-cli:rcm_cli; do
  dir=${member%%:*}; pkg=${member##*:}
  name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$dir/pyproject.toml" | head -n1)
  UV_PROJECT_ENVIRONMENT=.venv-packages/$pkg uv sync --frozen --quiet --package "$name" --no-dev
  .venv-packages/$pkg/bin/python scripts/import_all.py "$pkg"
done
log "deployment files: compose, Dockerfile, Kubernetes overlays (static)"
uv run --frozen python scripts/check_deploy.py
log "dependency audit (pip-audit on uv.lock; REQUIRE_DEPENDENCY_AUDIT=1 fails where it cannot run)"
bash scripts/pip_audit.sh
if [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's Chromium (the console's browser tests drive it headless)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
log "pytest"
uv run --frozen pytest --durations=25 "$@"
