"""City participant import: every row is checked, and nothing is written unless all pass."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.coverage.city_import import RejectedRow, Rejection, import_city_participants
from portal.coverage.closing import close_month
from portal.coverage.exceptions import InvalidCityFile, MonthClosed, UnknownFunder
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching.rules import current_rules
from portal.pledges.pricing import add_months
from portal.reference.models import RateSchedule
from portal.workers.nik import build_nik
from portal.workers.services import worker_nik
from tests import factories
from tests.coverage import helpers

MONTH = add_months(date.today().replace(day=1), 1)


def _csv(*niks: str, header: str = "nik,nama", delimiter: str = ",", bom: bool = False) -> bytes:
    """One row per NIK, with a name in the other column (the header says which comes first)."""
    first = header.lower().startswith("nik")
    lines = [header] + [
        delimiter.join([nik, f"Nama {i}"] if first else [f"Nama {i}", nik])
        for i, nik in enumerate(niks, 1)
    ]
    text = "\r\n".join(lines) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode()


def _coverage() -> list[tuple[int, date, str, int]]:
    return list(
        db.session.execute(
            select(Coverage.worker_id, Coverage.month, Coverage.funder, Coverage.amount).order_by(
                Coverage.worker_id, Coverage.month
            )
        )
    )


def test_every_worker_is_covered_for_each_month_at_the_rate_in_force(actors):
    db.session.add(
        RateSchedule(
            effective_from=add_months(MONTH, 1),
            funding_source="city",
            declared_income=1_000_000,
            jkk_amount=5_000,
            jkm_amount=3_400,
        )
    )
    people = [factories.worker() for _ in range(2)]
    data = _csv(*(worker_nik(w) for w in people), header="NIK;Nama", delimiter=";", bom=True)
    report = import_city_participants(data, "apbd", MONTH, 2, actors.staff)
    assert report.ok and (report.rows, report.accepted, report.written) == (2, 2, 4)
    assert report.amount == 2 * (16_800 + 8_400)
    second = add_months(MONTH, 1)
    assert _coverage() == [
        (people[0].id, MONTH, "apbd", 16_800),
        (people[0].id, second, "apbd", 8_400),
        (people[1].id, MONTH, "apbd", 16_800),
        (people[1].id, second, "apbd", 8_400),
    ]
    versions = set(db.session.scalars(select(Coverage.rule_version)))
    assert versions == {current_rules().version}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "coverage.import_city"))
    assert event.after["workers"] == 2 and event.after["rows"] == 4


def test_each_refused_row_is_reported_and_nothing_is_written(actors):
    good = factories.worker()
    covered = helpers.city_workers(Funder.DBHCHT, add_months(MONTH, 1), 1)[0]
    retired = factories.worker(status="registered")
    stranger = build_nik("337401", date(1985, 5, 5), False, 4321)
    data = _csv(
        worker_nik(good),
        "12345",
        stranger,
        worker_nik(good),
        worker_nik(covered),
        worker_nik(retired),
        "",
        header="Nama,Nik",
    )
    report = import_city_participants(data, "apbd", MONTH, 2, actors.staff)
    assert not report.ok and report.written == 0 and report.accepted == 1
    assert report.rejected == [
        RejectedRow(3, "12345", Rejection.INVALID_NIK),
        RejectedRow(4, stranger, Rejection.UNKNOWN_NIK),
        RejectedRow(5, worker_nik(good), Rejection.DUPLICATE, ("2",)),
        RejectedRow(
            6,
            worker_nik(covered),
            Rejection.ALREADY_COVERED,
            (f"{add_months(MONTH, 1):%Y-%m} dbhcht",),
        ),
        RejectedRow(7, worker_nik(retired), Rejection.NOT_ELIGIBLE, ("status",)),
        RejectedRow(8, "", Rejection.INVALID_NIK),
    ]
    assert len(_coverage()) == 1  # only the DBHCHT row that was there before


def test_dbhcht_funds_only_its_categories(actors):
    assert "petani" in current_rules().dbhcht_categories
    farmer = factories.worker(category_code="petani")
    driver = factories.worker(category_code="becak")
    data = _csv(worker_nik(farmer), worker_nik(driver))
    report = import_city_participants(data, "dbhcht", MONTH, 1, actors.staff)
    assert report.rejected == [
        RejectedRow(3, worker_nik(driver), Rejection.DBHCHT_CATEGORY, ("becak",))
    ]
    assert _coverage() == []
    report = import_city_participants(_csv(worker_nik(farmer)), "dbhcht", MONTH, 1, actors.staff)
    assert report.ok and _coverage() == [(farmer.id, MONTH, "dbhcht", 16_800)]


def test_over_age_in_a_later_month_is_not_eligible(actors):
    born = add_months(MONTH, -(64 * 12 + 11))  # 64 years 11 months in MONTH, 65 the month after
    old = factories.worker(birth_date=born)
    report = import_city_participants(_csv(worker_nik(old)), "apbd", MONTH, 2, actors.staff)
    assert report.rejected == [
        RejectedRow(2, worker_nik(old), Rejection.NOT_ELIGIBLE, ("over_age",))
    ]
    assert import_city_participants(_csv(worker_nik(old)), "apbd", MONTH, 1, actors.staff).ok


def test_dry_run_reports_and_writes_nothing(actors):
    people = [factories.worker() for _ in range(3)]
    report = import_city_participants(
        _csv(*(worker_nik(w) for w in people)), "apbd", MONTH, 3, actors.staff, dry_run=True
    )
    assert report.ok and report.dry_run and (report.accepted, report.written) == (3, 0)
    assert report.amount == 3 * 3 * 16_800
    assert _coverage() == []
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "coverage.import_city")
        )
        == 0
    )


def test_closed_months_unknown_funders_and_unreadable_files_are_refused(actors):
    worker = factories.worker()
    this_month = add_months(MONTH, -1)
    close_month(this_month, actors.staff)
    with pytest.raises(MonthClosed):
        import_city_participants(_csv(worker_nik(worker)), "apbd", this_month, 2, actors.staff)
    with pytest.raises(UnknownFunder):
        import_city_participants(_csv(worker_nik(worker)), "pledge", MONTH, 1, actors.staff)
    for data in (b"nama,kpj\r\nBudi,123\r\n", b"", b"nik\r\n", b"nik\r\n\x81\x8d\x90"):
        with pytest.raises(InvalidCityFile):
            import_city_participants(data, "apbd", MONTH, 1, actors.staff)
    assert _coverage() == []
