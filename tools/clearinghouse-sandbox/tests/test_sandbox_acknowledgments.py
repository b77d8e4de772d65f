"""What the sandbox answers to an 837 uploaded over SFTP: TA1, 999 and 277CA files in
outbound/, every one of them clean under pyx12."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from clearinghouse_sandbox import Sandbox
from clearinghouse_sandbox.validation import error_lines
from clearinghouse_sandbox.x12 import read_delimiters, split_segments

PROFESSIONAL = "837p_group_session.x12"  # ISA13 000000102, GS06 102, claims GT0415-0001/-0002
INSTITUTIONAL = "837i_icf_interim.x12"  # ISA13 000000101, claim SUN-JD-202504


def acks(sandbox: Sandbox, kind: str) -> list[str]:
    return [p.read_text() for p in sorted(sandbox.outbound.glob(f"{kind}_*.x12"))]


def segments(text: str) -> list[list[str]]:
    return split_segments(text, read_delimiters(text))


def find(text: str, tag: str, *leading: str) -> list[list[str]]:
    return [s for s in segments(text) if s[0] == tag and s[1 : 1 + len(leading)] == list(leading)]


def claim_status(text: str, patient_control_number: str) -> list[str]:
    """The claim-level STC after TRN*2*<pcn> in a 277CA."""
    found = segments(text)
    for index, segment in enumerate(found):
        if segment[:3] == ["TRN", "2", patient_control_number]:
            return found[index + 1]
    raise AssertionError(f"no 2200D for {patient_control_number}")


async def test_an_uploaded_837_is_answered_with_a_999_and_a_277ca_that_pass_pyx12(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    await upload("claims-000000102.x12", sample(PROFESSIONAL))

    names = sorted(p.name for p in sandbox.outbound.glob("*.x12"))
    assert names == [
        "277CA_000000102_000000003.x12",
        "999_000000102_000000002.x12",
        "TA1_000000102_000000001.x12",  # ISA14 = 1 asked for one
    ]
    for path in sandbox.outbound.glob("*.x12"):
        assert error_lines(path.read_text()) == [], path.name
    [ack_999] = acks(sandbox, "999")
    assert find(ack_999, "AK1") == [["AK1", "HC", "102", "005010X222A1"]]
    assert find(ack_999, "AK2") == [["AK2", "837", "0001", "005010X222A1"]]
    assert find(ack_999, "IK5") == [["IK5", "A"]]
    assert find(ack_999, "AK9") == [["AK9", "A", "1", "1", "1"]]
    assert find(ack_999, "GS")[0][8] == "005010X231A1"
    [ta1] = acks(sandbox, "TA1")
    assert find(ta1, "TA1")[0][1:] == ["000000102", "250502", "1200", "A", "000"]
    [ack_277] = acks(sandbox, "277CA")
    assert find(ack_277, "NM1", "AY")
    first = claim_status(ack_277, "GT0415-0001")
    assert (first[1], first[3], first[4]) == ("A2:20", "WQ", "95")
    assert claim_status(ack_277, "GT0415-0002")[1] == "A2:20"
    assert len(find(ack_277, "REF", "1K")) == 2
    assert len(find(ack_277, "REF", "D9")) == 2
    assert find(ack_277, "REF", "FJ") == [
        ["REF", "FJ", "GT0415-0001-1"],
        ["REF", "FJ", "GT0415-0002-1"],
    ]
    [record] = sandbox.received()
    assert (record.name, record.isa13, record.gs06) == (
        "claims-000000102.x12",
        "000000102",
        ["102"],
    )
    assert [(c.patient_control_number, c.status) for c in record.claims] == [
        ("GT0415-0001", "A2:20"),
        ("GT0415-0002", "A2:20"),
    ]
    assert sorted(record.acknowledgments) == names


async def test_acknowledgments_go_from_the_sandbox_back_to_the_837s_sender(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    await upload("claims.x12", sample(INSTITUTIONAL))

    [ack_999] = acks(sandbox, "999")
    isa = segments(ack_999)[0]
    assert (isa[6].strip(), isa[8].strip(), isa[13], isa[15]) == (
        "CLEARHOUSE01",
        "SUBMITTER01",
        "000000002",
        "T",
    )
    [ack_277] = acks(sandbox, "277CA")
    assert claim_status(ack_277, "SUN-JD-202504")[4] == "5400"
    assert find(ack_277, "REF", "BLT") == [["REF", "BLT", "653"]]
    assert ["DTP", "472", "RD8", "20250401-20250430"] in segments(ack_277)


async def test_a_claim_matching_the_reject_pattern_gets_a7_and_the_others_are_accepted(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    sandbox.set_switches(reject_pattern=r"-0002$")

    await upload("claims.x12", sample(PROFESSIONAL))

    [ack_277] = acks(sandbox, "277CA")
    assert error_lines(ack_277) == []
    accepted = claim_status(ack_277, "GT0415-0001")
    rejected = claim_status(ack_277, "GT0415-0002")
    assert accepted[1] == "A2:20"
    assert (rejected[1], rejected[3], rejected[4]) == ("A7:21", "U", "95")
    assert "reject pattern" in rejected[12]
    # the rejected claim's line is named by its line control number (REF*6R -> REF*FJ)
    assert ["REF", "FJ", "GT0415-0002-1"] in segments(ack_277)
    assert find(ack_277, "QTY", "90") == [["QTY", "90", "1"]]
    assert find(ack_277, "QTY", "AA") == [["QTY", "AA", "1"]]
    [ack_999] = acks(sandbox, "999")
    assert find(ack_999, "IK5") == [["IK5", "A"]]  # the file itself is fine
    assert [c.status for c in sandbox.received()[0].claims] == ["A2:20", "A7:21"]


async def test_a_broken_envelope_is_rejected_with_a_ta1_and_nothing_else(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    broken = sample(PROFESSIONAL).replace(b"IEA*1*000000102~", b"IEA*1*000000999~")

    await upload("broken.x12", broken)

    [ta1] = acks(sandbox, "TA1")
    assert error_lines(ta1) == []
    assert find(ta1, "TA1")[0][1:] == ["000000102", "250502", "1200", "R", "001"]
    assert acks(sandbox, "999") == [] and acks(sandbox, "277CA") == []
    assert sandbox.received()[0].outcome == "envelope_rejected"


async def test_an_interchange_control_number_seen_before_is_rejected_as_a_duplicate(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    await upload("first.x12", sample(PROFESSIONAL))
    await upload("again.x12", sample(PROFESSIONAL))

    second = sandbox.received()[1]
    assert second.outcome == "envelope_rejected"
    [name] = second.acknowledgments
    assert find((sandbox.outbound / name).read_text(), "TA1")[0][4:] == ["R", "025"]


async def test_a_transaction_set_with_errors_gets_a_rejecting_999_and_no_277ca(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    bad = sample(INSTITUTIONAL).replace(b"HI*BI:74:RD8", b"HI*BH:74:RD8")  # span code as BH

    await upload("bad.x12", bad)

    [ack_999] = acks(sandbox, "999")
    assert error_lines(ack_999) == []
    assert find(ack_999, "IK3") == [["IK3", "HI", "23", "", "8"]]
    assert find(ack_999, "IK4")[0][1:4] == ["1:3", "1250", "7"]
    assert find(ack_999, "IK5")[0][1] == "R"
    assert find(ack_999, "AK9") == [["AK9", "R", "1", "1", "0"]]
    assert acks(sandbox, "277CA") == []
    assert [c.status for c in sandbox.received()[0].claims] == ["999:R"]


async def test_delimiters_are_read_from_the_isa_and_answered_in_kind(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    text = sample(PROFESSIONAL).decode()
    rows = [line.rstrip("~").split("*") for line in text.split("~\n") if line.strip()]
    rows[0][11] = "!"  # repetition separator
    rows[0][16] = ">"  # component separator
    converted = "'".join("|".join(v.replace(":", ">") for v in row) for row in rows) + "'"
    assert error_lines(converted) == []

    await upload("pipes.x12", converted.encode())

    for kind in ("999", "277CA", "TA1"):
        [ack] = acks(sandbox, kind)
        assert ack[3] == "|" and ack[104] == ">" and ack[105] == "'"
        assert error_lines(ack) == [], kind
    [ack_277] = acks(sandbox, "277CA")
    assert ["SVC", "HC>90853>HQ", "95", "", "", "", "", "1"] in segments(ack_277)


async def test_with_the_payer_switch_a_second_277ca_comes_from_the_payer(
    sandbox: Sandbox, upload: Callable[..., Awaitable[None]], sample: Callable[[str], bytes]
) -> None:
    sandbox.set_switches(payer_277ca=True, reject_pattern="0002")

    await upload("claims.x12", sample(PROFESSIONAL))

    [clearinghouse] = acks(sandbox, "277CA")
    [payer] = acks(sandbox, "277CA-PAYER")
    assert error_lines(payer) == []
    assert claim_status(clearinghouse, "GT0415-0001")[1] == "A1:19"
    assert find(payer, "NM1", "PR")[0][3] == "STATE MEDICAID"
    assert claim_status(payer, "GT0415-0001")[1] == "A2:20"
    assert "GT0415-0002" not in payer  # rejected by the clearinghouse, never reached the payer
    claims = sandbox.received()[0].claims
    assert [(c.status, c.payer_status) for c in claims] == [("A1:19", "A2:20"), ("A7:21", None)]
