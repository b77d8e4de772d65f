"""``rcm-validate-tenant``: one problem per line with its path, exit 1; or OK, exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.tenant.validate import main


def run(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    exit_code = main([str(path)])
    return exit_code, capsys.readouterr().out.splitlines()


def test_the_demo_tenant_is_ok(demo_tenant_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code, lines = run(demo_tenant_path, capsys)
    assert exit_code == 0
    assert lines == [
        "OK demo-bh (America/Chicago): 2 payers, 3 programs (group-therapy PROFESSIONAL, "
        "residential INSTITUTIONAL, adult-day INSTITUTIONAL), 2 clearinghouses"
    ]


def test_every_field_error_is_printed_with_its_path(
    tmp_path: Path, demo_tenant_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = (
        demo_tenant_yaml.replace('npi: "1999999984"', 'npi: "1999999985"')
        .replace("taxonomy_code: 261QM0801X", "taxonmy_code: 261QM0801X")
        .replace("rate_per_participant: 40.00}", "rate_per_participant: 40.005}")
        .replace("      host: clearinghouse-sandbox\n", "")
        .replace("      port: 2222", "      port: 99999")
    )
    assert broken.count("\n") == demo_tenant_yaml.count("\n") - 1
    path = tmp_path / "broken.yaml"
    path.write_text(broken)

    exit_code, lines = run(path, capsys)

    assert exit_code == 1
    assert lines == [
        "billing_provider.npi: NPI check digit is wrong (CMS Luhn rule)",
        "billing_provider.taxonomy_code: required",
        "billing_provider.taxonmy_code: unknown key (misspelt, or not allowed here)",
        "programs[0].group[1].size_bands[1].rate_per_participant: "
        "an amount has at most 2 decimal places",
        "clearinghouses[1].transport.host: required",
        "clearinghouses[1].transport.port: Input should be less than or equal to 65535",
    ]


def test_cross_reference_errors_are_printed_with_their_path(
    tmp_path: Path, demo_tenant_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = demo_tenant_yaml.replace(
        "    claim_filing_indicator: MC        # Medicaid\n    clearinghouse_id: local-dev",
        "    claim_filing_indicator: MC        # Medicaid\n    clearinghouse_id: availity",
    ).replace("program_ids: [residential]", "program_ids: [group-therapy]")
    path = tmp_path / "dangling.yaml"
    path.write_text(broken)

    exit_code, lines = run(path, capsys)

    assert exit_code == 1
    assert lines == [
        "payers[1].clearinghouse_id: no clearinghouse 'availity'",
        "payers[1].bed_hold_rates[0].program_ids[0]: no INSTITUTIONAL program 'group-therapy'",
    ]


def test_a_file_that_is_not_yaml_is_one_document_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tenant_id: demo-bh\npayers: [\n")
    exit_code, lines = run(path, capsys)
    assert exit_code == 1
    assert len(lines) == 1
    assert lines[0].startswith("(document): not valid YAML: ")


def test_a_missing_file_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code, lines = run(tmp_path / "nowhere.yaml", capsys)
    assert exit_code == 1
    assert len(lines) == 1
    assert lines[0].startswith("(document): cannot read the file: ")
