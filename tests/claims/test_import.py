"""Claim files: every row checked, each refusal reported by row and column, all or nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.claims.exceptions import InvalidClaimFile, NotAllowed
from portal.claims.models import Claim
from portal.claims.services import (
    RejectedRow,
    Rejection,
    import_claims,
    parse_amount,
    parse_event_date,
    record_claim,
)
from portal.coverage.models import Funder
from portal.extensions import db
from portal.messages import _m
from portal.pledges.pricing import add_months
from portal.workers.nik import build_nik
from portal.workers.services import worker_nik
from tests.claims.files import claim_csv
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
LAST_MONTH = add_months(MONTH, -1)
DMY = f"{MONTH:%d/%m/%Y}"


def _claims() -> list[tuple[int, date, str, int, str, str, int | None]]:
    return list(
        db.session.execute(
            select(
                Claim.worker_id,
                Claim.event_date,
                Claim.kind,
                Claim.amount,
                Claim.story,
                Claim.funder,
                Claim.pledge_id,
            ).order_by(Claim.id)
        ).tuples()
    )


def test_an_indonesian_file_records_every_claim_with_its_funder(actors):
    pledge, (sponsored,) = helpers.covered_pledge(1, 2, LAST_MONTH)
    (city,) = helpers.city_workers(Funder.DBHCHT, MONTH, 1)
    day = LAST_MONTH + timedelta(days=14)
    data = claim_csv(
        (worker_nik(sponsored), f"{day:%d-%m-%Y}", "JKK", "Rp1.500.000", "Tangan terluka."),
        ("'" + worker_nik(city), DMY, "jkm", "42000000", ""),
        header="NIK;Tanggal;Jenis;Jumlah;Cerita",
        delimiter=";",
        bom=True,
    )
    report = import_claims(data, actors.staff)
    assert report.ok and (report.rows, report.accepted, report.recorded) == (2, 2, 2)
    assert report.amount == 43_500_000
    assert _claims() == [
        (sponsored.id, day, "jkk", 1_500_000, "Tangan terluka.", "pledge", pledge.id),
        (city.id, MONTH, "jkm", 42_000_000, "", "dbhcht", None),
    ]
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-3:] == ["claim.record", "claim.record", "claim.import"]
    assert report.as_json() == {"rows": 2, "recorded": 2, "rejected": 0, "errors": []}


def test_an_english_file_in_iso_dates_without_a_story_column(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    data = claim_csv(
        (f"{MONTH:%Y-%m-%d}", '"Rp 2.000.000,-"', "Jkk", worker_nik(worker)),
        header="date,amount,type,nik",
    )
    report = import_claims(data, actors.staff)
    assert report.ok and report.recorded == 1
    assert _claims() == [(worker.id, MONTH, "jkk", 2_000_000, "", "apbd", None)]


def test_each_refused_row_is_reported_with_its_row_and_column_and_nothing_is_written(actors):
    (good, covered_before, claimed) = helpers.city_workers(Funder.APBD, MONTH, 3)
    earlier = record_claim(claimed, MONTH, "jkk", 100_000, "", actors.staff)
    stranger = build_nik("337401", date(1985, 5, 5), False, 4321)
    future = date.today() + timedelta(days=1)
    data = claim_csv(
        (worker_nik(good), DMY, "jkk", "1000000", ""),  # 2: fine
        ("12345", DMY, "jkk", "1000000", ""),  # 3
        (stranger, DMY, "jkk", "1000000", ""),  # 4
        (worker_nik(covered_before), f"{LAST_MONTH:%d/%m/%Y}", "jkk", "5", ""),  # 5
        (worker_nik(good), DMY, "JKK", "Rp9", ""),  # 6
        (worker_nik(claimed), DMY, "jkk", "100000", ""),  # 7
        (worker_nik(good), "31/02/2026", "jkk", "1000000", ""),  # 8
        (worker_nik(good), f"{future:%Y-%m-%d}", "jkk", "1000000", ""),  # 9
        (worker_nik(good), DMY, "jkm", "0", ""),  # 10
        (worker_nik(good), DMY, "jkm", "satu juta", ""),  # 11
        (worker_nik(good), DMY, "jkp", "1000000", ""),  # 12
        (worker_nik(good), DMY, "jkm", "1000000", "x" * 501),  # 13
        ("", "", "", "", ""),  # blank: skipped
        ("abc", "kemarin", "", "-1", ""),  # 15
    )
    report = import_claims(data, actors.staff)
    assert not report.ok and report.recorded == 0 and report.accepted == 1
    assert report.rows == 13 and report.rejected_rows == 12
    assert report.rejected == [
        RejectedRow(3, "nik", Rejection.INVALID_NIK),
        RejectedRow(4, "nik", Rejection.UNKNOWN_NIK),
        RejectedRow(5, "tanggal", Rejection.NOT_COVERED, (f"{LAST_MONTH:%Y-%m}",)),
        RejectedRow(6, "nik", Rejection.DUPLICATE, ("2",)),
        RejectedRow(7, "nik", Rejection.ALREADY_RECORDED, (str(earlier.id),)),
        RejectedRow(8, "tanggal", Rejection.BAD_DATE),
        RejectedRow(9, "tanggal", Rejection.FUTURE_DATE),
        RejectedRow(10, "jumlah", Rejection.BAD_AMOUNT),
        RejectedRow(11, "jumlah", Rejection.BAD_AMOUNT),
        RejectedRow(12, "jenis", Rejection.BAD_TYPE),
        RejectedRow(13, "cerita", Rejection.STORY_TOO_LONG),
        RejectedRow(15, "nik", Rejection.INVALID_NIK),
        RejectedRow(15, "tanggal", Rejection.BAD_DATE),
        RejectedRow(15, "jenis", Rejection.BAD_TYPE),
        RejectedRow(15, "jumlah", Rejection.BAD_AMOUNT),
    ]
    assert report.rejected[2].message == _m(
        "The worker was not covered in %(detail)s.", detail=f"{LAST_MONTH:%Y-%m}"
    )
    assert report.rejected[3].message.english() == "The same worker, type and date as row 2."
    assert report.rejected[10].message.english() == "The story is longer than 500 characters."
    assert _claims() == [(claimed.id, MONTH, "jkk", 100_000, "", "apbd", None)]
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "claim.import")
        )
        == 0
    )


def test_a_dry_run_checks_everything_and_writes_nothing(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    data = claim_csv((worker_nik(worker), DMY, "jkk", "Rp1.500.000", "Terpeleset."))
    report = import_claims(data, actors.staff, dry_run=True)
    assert report.ok and report.dry_run
    assert (report.rows, report.accepted, report.recorded, report.amount) == (1, 1, 0, 1_500_000)
    assert _claims() == []
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action.like("claim.%"))
        )
        == 0
    )


def test_a_story_spanning_lines_keeps_the_row_number_of_its_start(actors):
    (first, second) = helpers.city_workers(Funder.APBD, MONTH, 2)
    data = (
        f"nik,tanggal,jenis,jumlah,cerita\r\n"
        f'{worker_nik(first)},{DMY},jkk,1000,"Dua\r\nbaris"\r\n'
        f"{worker_nik(second)},{DMY},jkx,1000,\r\n"
    ).encode()
    report = import_claims(data, actors.staff)
    assert report.rejected == [RejectedRow(4, "jenis", Rejection.BAD_TYPE)]
    assert report.accepted == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"nik,tanggal,jumlah\r\n3374010101800001,01/01/2026,5\r\n", "jenis/type"),
        (b"nik,tanggal,date,jenis,jumlah\r\n", "'tanggal' and 'date'"),
        (b"nik,tanggal,jenis,jumlah\r\n", "no rows"),
        ("nik,tanggal,jenis,jumlah\r\n".encode("utf-16"), "no rows"),  # UTF-16 is read
        (b"nik,tanggal,jenis,jumlah\r\n\x81\x8d\x90", "CSV text"),
    ],
)
def test_an_unreadable_file_is_refused_whole(actors, data, message):
    with pytest.raises(InvalidClaimFile, match=message):
        import_claims(data, actors.staff)


def test_only_claim_managers_may_import(actors):
    with pytest.raises(NotAllowed):
        import_claims(claim_csv(), actors.auditor)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1500000", 1_500_000),
        ("Rp1.500.000", 1_500_000),
        ("rp 1.500.000,-", 1_500_000),
        ("Rp. 750.000,00", 750_000),
        ("1", 1),
        ("0", None),
        ("1.50.000", None),
        ("1,500,000", None),
        ("-500", None),
        ("", None),
        ("Rp", None),
        ("12.5", None),
    ],
)
def test_amounts_are_whole_rupiah(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("05/03/2026", date(2026, 3, 5)),
        ("5-3-2026", date(2026, 3, 5)),
        ("2026-03-05", date(2026, 3, 5)),
        (" 29/02/2024 ", date(2024, 2, 29)),
        ("29/02/2026", None),
        ("05/03-2026", None),
        ("2026/03/05", None),
        ("05/03/26", None),
        ("", None),
    ],
)
def test_dates_in_three_spellings(text, day):
    assert parse_event_date(text) == day
