#!/usr/bin/env bash
# Dependency audit (SPEC 10, issue #9): every third-party package of uv.lock, at its
# locked version, against PyPI's vulnerability data (pip-audit). Fails on a known
# vulnerability and, with --strict, on a package it could not audit.
#
# pip-audit needs PyPI's JSON API (pypi.org/pypi/<name>/<version>/json) or OSV. A machine
# that reaches neither (a package mirror or proxy only) cannot audit: the script says so
# in one loud line and exits 0, unless REQUIRE_DEPENDENCY_AUDIT=1 (then it fails), so a
# connected CI sets that and a sandboxed one still runs the rest of the suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# pip-audit asks for each package at its version (the project-wide page names the
# vulnerabilities of the newest release only, so it is no substitute).
probe=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 https://pypi.org/pypi/pip/24.0/json || true)
if [ "$probe" != "200" ]; then
  echo "DEPENDENCY AUDIT NOT RUN: PyPI's vulnerability API is unreachable from this machine" \
    "(https://pypi.org/pypi/pip/24.0/json answered '${probe:-nothing}')." >&2
  if [ "${REQUIRE_DEPENDENCY_AUDIT:-0}" = "1" ]; then
    exit 1
  fi
  exit 0
fi

requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT
uv export --frozen --quiet --no-hashes --no-emit-workspace --all-packages \
  --format requirements.txt >"$requirements"
uvx --from pip-audit==2.10.1 pip-audit --strict --disable-pip --no-deps \
  --progress-spinner off -r "$requirements"
