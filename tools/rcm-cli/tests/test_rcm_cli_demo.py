"""``rcm demo`` runs the README's demo from the checkout it is started in (or is told)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rcm_cli.app import app, find_demo

ROOT = Path(__file__).resolve().parents[3]


def test_the_demo_is_found_from_any_folder_of_the_checkout() -> None:
    assert find_demo(ROOT / "services" / "claims" / "src") == ROOT / "scripts" / "demo.py"
    assert find_demo(ROOT) == ROOT / "scripts" / "demo.py"


def test_outside_a_checkout_it_says_so_with_a_code(tmp_path: Path) -> None:
    assert find_demo(tmp_path) is None
    result = CliRunner().invoke(app, ["demo", "--checkout", str(tmp_path)])
    assert result.exit_code == 1
    assert "DEMO_NOT_FOUND" in result.output
