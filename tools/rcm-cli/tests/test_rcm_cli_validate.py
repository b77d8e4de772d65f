"""rcm tenant validate, and the feed's line-by-line check (nothing published on a bad line)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from common.testing.processes import SAMPLE_TENANTS
from rcm_cli.app import CliContext, app

runner = CliRunner()


def test_a_valid_tenant_file_is_ok() -> None:
    result = runner.invoke(app, ["tenant", "validate", str(SAMPLE_TENANTS / "demo-bh.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK demo-bh" in result.output or ": OK " in result.output


def test_an_invalid_tenant_file_prints_each_problem_with_its_path(tmp_path: Path) -> None:
    text = (SAMPLE_TENANTS / "demo-bh.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("time_zone:", "time_zone: Not/AZone\nunused_key_x:", 1))
    result = runner.invoke(app, ["tenant", "validate", str(bad)])
    assert result.exit_code == 1
    assert "time_zone" in result.output
    assert str(bad) in result.output


def test_a_missing_tenant_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tenant", "validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2


def _event(n: int) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": "ehr/test",
        "type": "scheduling.group_session.scheduled.v1",
        "time": "2025-03-03T09:00:00Z",
        "tenantid": "tenant-a",
        "data": {"n": n},
    }


def test_feed_replay_refuses_a_bad_line_by_its_number_and_publishes_nothing(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "feed.jsonl"
    bad = _event(2)
    del bad["tenantid"]
    lines = [json.dumps(_event(1)), json.dumps(bad), "", "{not json", json.dumps(_event(1))]
    feed.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        # An unreachable broker: reaching it would fail differently (and later).
        [
            "feed",
            "replay",
            str(feed),
            "--out",
            str(tmp_path / "out"),
            "--amqp-url",
            "amqp://guest:guest@127.0.0.1:1/",
            "--token",
            "x.e30.y",
        ],
        obj=CliContext(),
    )
    assert result.exit_code == 1
    assert "line 2: tenantid: Field required" in result.output
    assert "line 4: not JSON" in result.output
    assert "line 5: id evt-1 repeats line 1" in result.output
    assert "nothing published" in result.output
    assert not (tmp_path / "out").exists()
