# syntax=docker/dockerfile:1
# One image for the whole suite: the five services, the clearinghouse sandbox and the
# demo feed. `docker run IMAGE attendance serve`, `... edi-gateway migrate`,
# `... clearinghouse-sandbox serve --root ...` (see deploy/image/rcm_run.py).
#
# What it needs from the repository: pyproject.toml, uv.lock and README.md; contracts/
# (the package and its samples, which the demo feed reads); libs/, services/, tools/
# (the workspace members, migrations and reference data inside their packages);
# deploy/image/ and deploy/compose/*.py. Everything else is in .dockerignore.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /app

# Third-party dependencies first, from the lock file only: this layer is rebuilt when
# uv.lock or a member's pyproject.toml changes, not when the code does.
COPY pyproject.toml uv.lock README.md ./
COPY contracts/pyproject.toml contracts/
COPY libs/common/pyproject.toml libs/common/
COPY libs/group-billing/pyproject.toml libs/group-billing/
COPY services/attendance/pyproject.toml services/attendance/
COPY services/stays/pyproject.toml services/stays/
COPY services/charges/pyproject.toml services/charges/
COPY services/claims/pyproject.toml services/claims/
COPY services/edi-gateway/pyproject.toml services/edi-gateway/
COPY tools/clearinghouse-sandbox/pyproject.toml tools/clearinghouse-sandbox/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace

# Then the workspace itself (installed editable: the packages stay in /app, next to
# contracts/samples, which the demo feed reads).
COPY contracts contracts
COPY libs libs
COPY services services
COPY tools tools
COPY deploy/image deploy/image
COPY deploy/compose/sandbox_keys.py deploy/compose/demo_feed.py deploy/compose/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages \
    && python -m compileall -q contracts libs services tools deploy


FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="rcm-suite" \
      org.opencontainers.image.description="Revenue-cycle suite: attendance and stays in, X12 837 claims out"
# A fixed, non-root uid/gid: Kubernetes' runAsNonRoot checks the number, and the
# folders below (named volumes in compose, emptyDir in Kubernetes) are owned by it.
RUN groupadd --system --gid 10001 rcm \
    && useradd --system --uid 10001 --gid rcm --home-dir /var/lib/rcm --no-create-home \
       --shell /usr/sbin/nologin rcm \
    && install -d -o rcm -g rcm -m 0750 /var/lib/rcm /var/lib/rcm/edi /var/lib/rcm/sandbox \
       /var/lib/rcm/sandbox-keys /etc/rcm /etc/rcm/clearinghouse \
    && install -d -o root -g root -m 0755 /etc/rcm/tenants
COPY --from=build /app /app
RUN install -m 0755 /app/deploy/image/rcm_run.py /usr/local/bin/rcm-run
ENV PATH=/app/.venv/bin:$PATH \
    RCM_APP_ROOT=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    TENANT_CONFIG_DIR=/etc/rcm/tenants \
    EDI_LOCAL_ROOT=/var/lib/rcm/edi
WORKDIR /var/lib/rcm
USER 10001:10001
ENTRYPOINT ["rcm-run"]
CMD ["--help"]
