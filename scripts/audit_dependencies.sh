#!/usr/bin/env bash
# Scan the locked third-party dependencies (every workspace member's, dev tools included;
# the workspace's own packages left out) for known vulnerabilities with pip-audit.
#
# Fails (exit 1) only when a known vulnerability is found. When the vulnerability service
# cannot be reached, or cannot audit some packages, it says so plainly and passes: an
# outage of pypi.org must not block CI, but nobody should read "nothing found" as proof.
# PIP_AUDIT_SERVICE=osv uses OSV instead of PyPI's advisory database.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

uv export --frozen --no-hashes --all-packages --no-emit-workspace --format requirements-txt \
  --output-file "$work/requirements.txt" >/dev/null

# Every requirement is pinned from uv.lock: --no-deps audits exactly those versions
# without resolving (or installing) anything again.
set +e
uv run --frozen pip-audit -r "$work/requirements.txt" --no-deps --progress-spinner off \
  --vulnerability-service "${PIP_AUDIT_SERVICE:-pypi}" --format json \
  --output "$work/report.json" 2>"$work/stderr.txt"
status=$?
set -e

uv run --frozen python - "$work" "$status" <<'PY'
import json
import sys
from pathlib import Path

work, status = Path(sys.argv[1]), int(sys.argv[2])
report = work / "report.json"
pinned = sum(
    1 for line in (work / "requirements.txt").read_text().splitlines() if "==" in line
)
try:
    dependencies = json.loads(report.read_text())["dependencies"]
except (OSError, ValueError, KeyError):
    stderr = (work / "stderr.txt").read_text().strip().splitlines()
    print(f"pip-audit: the vulnerability service could not be used (exit {status}):")
    print("\n".join("  " + line for line in stderr[-8:]))
    print(f"pip-audit: {pinned} dependencies NOT audited (service unreachable); not failing")
    sys.exit(0)

vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if d.get("skip_reason")]
audited = len(dependencies) - len(skipped)
for dependency in vulnerable:
    for vuln in dependency["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} (fix: {fixed})")
if skipped:
    print(f"pip-audit: {len(skipped)} of {len(dependencies)} dependencies could NOT be audited, e.g.")
    for dependency in skipped[:3]:
        print(f"  {dependency['skip_reason']}")
print(
    f"pip-audit: {audited} of {len(dependencies)} locked dependencies audited, "
    f"{len(vulnerable)} with known vulnerabilities"
)
sys.exit(1 if vulnerable else 0)
PY
