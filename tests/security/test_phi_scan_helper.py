"""The PHI scan the end-to-end session runs over its logs and file names finds what it
must (a name in any case, a birth date in any of its shapes, a subscriber id) and nothing
else (ids, other dates, words that merely contain a name)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from common.testing.phi import ScenarioPhi, scan_phi
from common.testing.scenarios import member_event, sample

SUBSCRIBER_837 = (
    "ISA*00*          *00*          *ZZ*HARBORBH       *ZZ*LOCALCH        *260310*1200*^*"
    "00501*000000001*0*T*:~GS*HC*HARBORBH*LOCALCH*20260310*1200*1*X*005010X222A1~"
    "ST*837*0001*005010X222A1~NM1*IL*1*RIVERA*MARISOL*Q***MI*MCD998877665~"
    "DMG*D8*19850704*F~SE*4*0001~GE*1*1~IEA*1*000000001~"
)


def test_the_phi_of_a_member_event_is_its_names_birth_dates_and_subscriber_ids() -> None:
    event = member_event("demo-bh", "m-77", "e-1", payer_id="acme-commercial", diagnoses=["F332"])
    phi = ScenarioPhi.from_member_events([event, sample("ehr.member.upserted.v1")])
    assert {"JANE", "DOE", "JOHN"} <= phi.names
    assert {date(1970, 3, 15), date(1968, 11, 2)} <= phi.birth_dates
    assert {"ACMM77", "MCD000123456", "ACM884201937"} <= phi.subscriber_ids


def test_the_phi_of_an_837_is_its_subscribers_names_birth_dates_and_member_ids() -> None:
    phi = ScenarioPhi.from_837([SUBSCRIBER_837])
    assert phi == ScenarioPhi.of(
        names=["RIVERA", "MARISOL"], birth_dates=["1985-07-04"], subscriber_ids=["MCD998877665"]
    )


def test_every_hit_in_log_lines_and_file_names_is_found_and_nothing_else(
    tmp_path: Path,
) -> None:
    phi = ScenarioPhi.of(
        names=["Rivera", "Marisol"], birth_dates=["1985-07-04"], subscriber_ids=["MCD998877665"]
    )
    logs, files = tmp_path / "logs", tmp_path / "files"
    logs.mkdir()
    (files / "inbound").mkdir(parents=True)
    (logs / "claims.log").write_text(
        '{"event": "claim_built", "member_id": "m-1", "born": "[REDACTED]"}\n'
        '{"event": "oops", "patient": "marisol rivera"}\n'
        '{"event": "ok", "riverside": "no", "date": "1985-07-05", "n": "119850704"}\n'
        '{"event": "oops", "dob": "07/04/1985", "x12": "DMG*D8*19850704"}\n'
    )
    (logs / "stays.log").write_text('{"event": "oops", "subscriber": "MCD998877665"}\n')
    (files / "inbound" / "demo-bh_837P_000000001.x12").write_text(SUBSCRIBER_837)
    (files / "inbound" / "RIVERA_19850704.x12").write_text("")

    hits = scan_phi(phi, log_folders=[logs], named_folders=[files])

    found = sorted((h.source, h.location.rsplit("/", 1)[-1], h.kind) for h in hits)
    assert found == [
        ("file name", "RIVERA_19850704.x12", "birth date"),
        ("file name", "RIVERA_19850704.x12", "name"),
        ("log", "claims.log:2", "name"),
        ("log", "claims.log:2", "name"),
        ("log", "claims.log:4", "birth date"),
        ("log", "stays.log:1", "subscriber id"),
    ]
