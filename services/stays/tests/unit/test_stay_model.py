from datetime import date

from stays.domain.model import Admission, Stay


def admission(**overrides: object) -> Admission:
    values: dict[str, object] = {
        "admit_date": date(2026, 1, 10),
        "admit_hour": 14,
        "admission_type": "3",
        "admission_source": "1",
        "principal_diagnosis": "F200",
    }
    values.update(overrides)
    return Admission.model_validate(values)


def stay(**overrides: object) -> Stay:
    return Stay.admit(
        tenant_id="t1",
        stay_id="S1",
        member_id="M1",
        facility_id="F1",
        program_id="RES",
        admission=admission(**overrides),
    )


def test_admitting_records_an_admitted_event() -> None:
    assert stay().events == ["admitted"]


def test_open_stay_counts_admission_day_through_today() -> None:
    # Admitted 2026-01-10, still in on 2026-01-31: 22 days (SPEC 12 vector 2's January).
    assert stay().length_of_stay(date(2026, 1, 31)) == 22


def test_discharge_day_does_not_count() -> None:
    s = stay()
    s.discharge_date = date(2026, 2, 3)
    assert s.length_of_stay(date(2026, 3, 1)) == 24


def test_same_day_admit_and_discharge_is_one_day() -> None:
    s = stay()
    s.discharge_date = date(2026, 1, 10)
    assert s.length_of_stay(date(2026, 1, 10)) == 1


def test_same_admission_compares_member_program_and_admission() -> None:
    s = stay()
    assert s.same_admission("M1", "RES", admission())
    assert not s.same_admission("M1", "RES", admission(admit_hour=9))
    assert not s.same_admission("M2", "RES", admission())
