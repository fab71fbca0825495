"""Closing a month: the ledger gets each pledge's and city funder's coverage, exactly once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, insert, select

from portal.audit.models import AuditEvent
from portal.certificates.models import CertificateKind
from portal.certificates.services import pledge_certificates, verdict_for
from portal.coverage.closing import close_month
from portal.coverage.exceptions import (
    EarlierMonthOpen,
    InvalidMonth,
    MonthClosed,
    MonthTooFarAhead,
    NotAllowed,
)
from portal.coverage.models import Coverage, Funder, MonthClose
from portal.coverage.services import parse_month
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import Account, LedgerEntry
from portal.ledger.queries import account_balances, pledge_balance
from portal.matching import services as matching
from portal.messages import _m
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from tests import factories
from tests.conftest import run_jobs
from tests.coverage import helpers
from tests.matching import builders

THIS_MONTH = date.today().replace(day=1)


def _entries() -> int:
    return db.session.scalar(select(func.count(LedgerEntry.id)))


def test_close_books_each_pledge_and_each_city_funder(actors):
    month = earliest_start()
    builders.rules(city_quotas={})
    for _ in range(3):
        factories.worker()
    two = builders.paid_pledge(builders.sponsor(), workers=2, months=3, start=month)
    one = builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month)
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    helpers.city_workers(Funder.APBD, month, 2)
    helpers.city_workers(Funder.DBHCHT, month, 1, amount=8_400)
    paid_two = pledge_balance(two.id)

    close = close_month(month, actors.staff)

    key = f"{month:%Y-%m}"
    assert helpers.booked(f"consumed:{two.id}:{key}") == 2 * 16_800
    assert helpers.booked(f"consumed:{one.id}:{key}") == 16_800
    assert helpers.booked(f"city:apbd:{key}") == 2 * 16_800
    assert helpers.booked(f"city:dbhcht:{key}") == 8_400
    assert pledge_balance(two.id) == paid_two - 2 * 16_800
    assert account_balances()[Account.PAYABLE_BPJS] == -(5 * 16_800 + 8_400)
    assert close.totals == {
        "apbd": {"workers": 2, "amount": 33_600},
        "dbhcht": {"workers": 1, "amount": 8_400},
        "pledge": {"workers": 3, "amount": 50_400},
    }
    assert close.closed_by_id == actors.staff.id
    assert check_ledger() == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "coverage.close_month"))
    assert event.after["month"] == key and event.after["completed_pledges"] == [one.id]
    assert (one.status, two.status) == (PledgeStatus.COMPLETED, PledgeStatus.ACTIVE)


def test_closing_twice_is_refused_and_books_nothing_more(actors):
    helpers.covered_pledge(2, 2, THIS_MONTH)
    close_month(THIS_MONTH, actors.staff)
    before = _entries()
    with pytest.raises(MonthClosed):
        close_month(THIS_MONTH, actors.staff2)
    assert _entries() == before
    assert db.session.scalar(select(func.count(MonthClose.id))) == 1


def test_only_months_up_to_next_month_can_be_closed(actors):
    with pytest.raises(MonthTooFarAhead):
        close_month(add_months(THIS_MONTH, 2), actors.staff)
    with pytest.raises(InvalidMonth):
        close_month(THIS_MONTH.replace(day=2), actors.staff)
    close_month(add_months(THIS_MONTH, 1), actors.staff)  # paid ahead: next month is allowed
    close_month(add_months(THIS_MONTH, -3), actors.staff)  # an empty past month books nothing
    assert _entries() == 0


def test_months_close_in_order(actors):
    helpers.covered_pledge(1, 2, add_months(THIS_MONTH, -1))
    with pytest.raises(
        EarlierMonthOpen, match=f"close {add_months(THIS_MONTH, -1):%Y-%m} first"
    ) as info:
        close_month(THIS_MONTH, actors.staff)
    # a message translated where it is shown (a page), English on the command line
    assert info.value.args == (
        _m(
            "close %(month)s first: months close in order",
            month=f"{add_months(THIS_MONTH, -1):%Y-%m}",
        ),
    )
    close_month(add_months(THIS_MONTH, -1), actors.staff)
    with pytest.raises(EarlierMonthOpen):
        close_month(add_months(THIS_MONTH, 1), actors.staff)
    close_month(THIS_MONTH, actors.staff)
    close_month(add_months(THIS_MONTH, 1), actors.staff)
    assert db.session.scalar(select(func.count(MonthClose.id))) == 3


def test_close_completes_only_the_pledges_whose_term_ends_that_month(actors):
    ending, _ = helpers.covered_pledge(1, 2, add_months(THIS_MONTH, -1))
    going_on, _ = helpers.covered_pledge(1, 3, add_months(THIS_MONTH, -1))
    close_month(add_months(THIS_MONTH, -1), actors.staff)
    assert (ending.status, going_on.status) == (PledgeStatus.ACTIVE, PledgeStatus.ACTIVE)
    close_month(THIS_MONTH, actors.staff)
    assert ending.status == PledgeStatus.COMPLETED
    assert going_on.status == PledgeStatus.ACTIVE
    assert check_ledger() == []
    run_jobs()  # certificates follow the completion event
    certificates = pledge_certificates(ending.id)
    assert [c.kind for c in certificates] == [CertificateKind.COMPLETED]
    assert verdict_for(certificates[0].serial).facts["worker_months"] == 2
    assert pledge_certificates(going_on.id) == []


def test_sponsors_and_auditors_cannot_close(actors):
    for user in (actors.auditor, actors.owner):
        with pytest.raises(NotAllowed):
            close_month(THIS_MONTH, user)
    assert db.session.scalar(select(func.count(MonthClose.id))) == 0


def test_parse_month_reads_yyyy_mm_only():
    assert parse_month("2026-12") == date(2026, 12, 1)
    for text in ("2026-13", "12-2026", "2026/12", "", "1999-01"):
        with pytest.raises(InvalidMonth):
            parse_month(text)


def test_ledger_check_finds_a_closed_month_whose_coverage_moved(actors):
    pledge, _ = helpers.covered_pledge(1, 1, THIS_MONTH)
    helpers.city_workers(Funder.APBD, THIS_MONTH, 1)
    close_month(THIS_MONTH, actors.staff)
    nested = db.session.begin_nested()
    extra = factories.worker()
    db.session.execute(
        insert(Coverage),
        [
            {
                "worker_id": extra.id,
                "month": THIS_MONTH,
                "funder": Funder.PLEDGE,
                "amount": 16_800,
                "pledge_id": pledge.id,
                "slot": 2,
            },
            {
                "worker_id": factories.worker().id,
                "month": THIS_MONTH,
                "funder": Funder.DBHCHT,
                "amount": 16_800,
            },
        ],
    )
    key = f"{THIS_MONTH:%Y-%m}"
    assert check_ledger() == [
        f"closed city:dbhcht:{key}: coverage of 16800 has no consumption entry",
        f"closed consumed:{pledge.id}:{key}: coverage of 33600 is booked as 16800",
    ]
    nested.rollback()
    assert check_ledger() == []


def test_ledger_check_ignores_open_months():
    helpers.covered_pledge(1, 1, THIS_MONTH)  # coverage, no close, no entry: fine
    assert check_ledger() == []
