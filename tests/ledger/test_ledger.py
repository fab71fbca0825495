"""Ledger services: posting, refusals, duplicates, balances and the sponsor statement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.companies.models import Company
from portal.extensions import db
from portal.ledger import services
from portal.ledger.exceptions import (
    DuplicateEntry,
    InsufficientBalance,
    LedgerError,
    UnbalancedEntry,
)
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.ledger.queries import (
    account_balances,
    company_statement,
    pledge_balance,
    sponsor_balance,
)
from portal.ledger.services import (
    Line,
    post_entry,
    record_city_coverage,
    record_coverage_consumed,
    record_remittance,
)
from portal.payments.booking import book_payment, book_refund
from portal.payments.models import Payment, PaymentStatus
from tests import factories
from tests.ledger import builders

CASH, PREPAID = Account.CASH, Account.SPONSOR_PREPAID
PAYABLE, CITY = Account.PAYABLE_BPJS, Account.CITY_FUNDING
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def _pair(amount: int) -> list[Line]:
    return [Line(PAYABLE, amount), Line(CASH, -amount)]


def _amounts(entry_id: int) -> list[int]:
    return sorted(
        db.session.scalars(select(LedgerLine.amount).where(LedgerLine.entry_id == entry_id))
    )


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@contextmanager
def _refused(error: type[Exception], match: str | None = None) -> Iterator[Any]:
    """Expect the error and undo what the attempt wrote, as the request's rollback would."""
    nested = db.session.begin_nested()
    with pytest.raises(error, match=match) as info:
        yield info
    nested.rollback()


def _paid(amount: int = 1_000_000, company: Company | None = None) -> Payment:
    payment = builders.payment(company or factories.company(verified=True), amount)
    book_payment(payment)
    return payment


# --- post_entry -------------------------------------------------------------------------


def test_balanced_entry_is_posted_with_its_lines():
    entry = post_entry(
        EntryKind.REMITTANCE, "remit:test", _pair(16_800), memo="January", booked_on=JAN
    )
    stored = db.session.get(LedgerEntry, entry.id)
    assert (stored.kind, stored.source_key, stored.memo, stored.booked_on) == (
        "remittance",
        "remit:test",
        "January",
        JAN,
    )
    assert _amounts(entry.id) == [-16_800, 16_800]


@pytest.mark.parametrize(
    "lines",
    [
        [Line(PAYABLE, 100), Line(CASH, -90)],
        [Line(PAYABLE, 100), Line(CASH, -100), Line(CASH, 0)],
        [Line(CASH, 0), Line(PAYABLE, 0)],
        [Line(CASH, 100)],
        [],
    ],
    ids=["sum-not-zero", "zero-line", "all-zero", "single-line", "no-lines"],
)
def test_unbalanced_zero_and_single_line_entries_are_refused(lines):
    with pytest.raises(UnbalancedEntry):
        post_entry(EntryKind.REMITTANCE, "remit:bad", lines)
    assert _count(LedgerEntry) == 0 and _count(LedgerLine) == 0


def test_fractional_amounts_are_refused():
    with pytest.raises(LedgerError, match="whole rupiah"):
        post_entry(EntryKind.REMITTANCE, "remit:float", [Line(PAYABLE, 0.5), Line(CASH, -0.5)])


def test_duplicate_entry_is_refused_the_first_stays_and_the_transaction_survives():
    first = post_entry(EntryKind.REMITTANCE, "remit:once", _pair(500))
    earlier_work = factories.company()
    with pytest.raises(DuplicateEntry):
        post_entry(EntryKind.REMITTANCE, "remit:once", _pair(900))
    assert _amounts(first.id) == [-500, 500]
    assert db.session.get(Company, earlier_work.id) is not None
    post_entry(EntryKind.REMITTANCE, "remit:next", _pair(700))
    db.session.commit()
    assert _count(LedgerEntry) == 2


def test_a_concurrent_twin_is_caught_by_the_unique_key_inside_a_savepoint(monkeypatch):
    """The look-up cannot see a twin another transaction inserts meanwhile; the key does."""
    monkeypatch.setattr(services, "_require_new", lambda kind, source_key: None)
    first = post_entry(EntryKind.REMITTANCE, "remit:race", _pair(500))
    earlier_work = factories.company()
    with pytest.raises(DuplicateEntry):
        post_entry(EntryKind.REMITTANCE, "remit:race", _pair(900))
    assert _amounts(first.id) == [-500, 500]
    assert db.session.get(Company, earlier_work.id) is not None
    post_entry(EntryKind.REMITTANCE, "remit:after-race", _pair(700))
    assert _count(LedgerEntry) == 2


def test_other_integrity_errors_are_not_reported_as_duplicates():
    with pytest.raises(IntegrityError):
        post_entry(
            EntryKind.REMITTANCE, "remit:fk", [Line(CASH, 5, company_id=987_654), Line(PAYABLE, -5)]
        )
    post_entry(EntryKind.REMITTANCE, "remit:fk", _pair(5))  # nothing half-written stays
    assert _count(LedgerLine) == 2


def test_the_same_source_key_may_serve_different_kinds():
    post_entry(EntryKind.REMITTANCE, "shared:1", _pair(5))
    post_entry(EntryKind.COVERAGE_CONSUMED, "shared:1", [Line(CITY, 5), Line(PAYABLE, -5)])
    assert _count(LedgerEntry) == 2


# --- domain helpers ---------------------------------------------------------------------


def test_payment_received_moves_cash_and_the_sponsor_balance():
    payment = _paid(1_008_000)
    assert sponsor_balance(payment.company_id) == 1_008_000
    assert pledge_balance(payment.pledge_id) == 1_008_000
    assert account_balances() == {CASH: 1_008_000, PREPAID: -1_008_000, PAYABLE: 0, CITY: 0}
    entry = db.session.scalar(select(LedgerEntry))
    assert (entry.kind, entry.source_key) == ("payment_received", f"payment:{payment.id}")


@pytest.mark.parametrize(
    "status", [PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED]
)
def test_a_payment_that_is_not_paid_is_not_booked(status):
    payment = builders.payment(factories.company(verified=True), status=status)
    with pytest.raises(LedgerError, match="not paid"):
        book_payment(payment)
    assert _count(LedgerEntry) == 0


def test_refund_within_the_balance_is_booked_and_beyond_it_refused():
    payment = _paid(1_000_000)
    record_coverage_consumed(payment.company_id, payment.pledge_id, JAN, 600_000)
    with _refused(InsufficientBalance) as refused:
        book_refund(builders.refund(payment, 400_001))
    assert (refused.value.available, refused.value.requested) == (400_000, 400_001)
    assert _count(LedgerEntry) == 2
    book_refund(builders.refund(payment, 400_000))
    assert sponsor_balance(payment.company_id) == 0
    assert account_balances()[CASH] == 600_000


def test_refunds_never_exceed_their_payment():
    payment = _paid(1_000_000)
    book_refund(builders.refund(payment, 700_000))
    with _refused(InsufficientBalance, match=f"payment {payment.id} refundable"):
        book_refund(builders.refund(payment, 300_001))


def test_a_refund_that_names_another_company_is_refused():
    payment = _paid(1_000_000)
    with _refused(LedgerError, match="does not match"):
        row = builders.refund(payment, 100)
        row.company_id = factories.company().id
        book_refund(row)


def test_consumption_beyond_the_balance_is_refused():
    payment = _paid(100_000)
    record_coverage_consumed(payment.company_id, payment.pledge_id, JAN, 60_000)
    with pytest.raises(InsufficientBalance):
        record_coverage_consumed(payment.company_id, payment.pledge_id, FEB, 40_001)
    record_coverage_consumed(payment.company_id, payment.pledge_id, FEB, 40_000)
    assert sponsor_balance(payment.company_id) == 0


def test_consumption_is_limited_by_the_pledge_not_only_the_company():
    company = factories.company(verified=True)
    small, _large = _paid(100_000, company), _paid(900_000, company)
    with pytest.raises(InsufficientBalance, match=f"pledge {small.pledge_id}"):
        record_coverage_consumed(company.id, small.pledge_id, JAN, 100_001)


def test_consumption_of_another_company_pledge_is_refused():
    payment = _paid(100_000)
    with pytest.raises(LedgerError, match="does not belong"):
        record_coverage_consumed(factories.company().id, payment.pledge_id, JAN, 1)


def test_every_source_is_booked_once_and_a_replay_is_a_duplicate_even_when_spent():
    payment = _paid(100_000)
    record_coverage_consumed(payment.company_id, payment.pledge_id, JAN, 60_000)
    refund = builders.refund(payment, 40_000)
    book_refund(refund)
    record_city_coverage("apbd", JAN, 50_000)
    record_remittance(JAN, "apbd", 50_000, "BPJS-2026-01")
    replays = [
        lambda: book_payment(payment),
        lambda: book_refund(refund),
        lambda: record_coverage_consumed(payment.company_id, payment.pledge_id, JAN, 1),
        lambda: record_city_coverage("apbd", JAN, 1),
        lambda: record_remittance(JAN, "apbd", 1, "again"),
    ]
    for replay in replays:
        with pytest.raises(DuplicateEntry):
            replay()
    assert _count(LedgerEntry) == 5


def test_city_coverage_and_remittance_settle_the_payable():
    payment = _paid(300_000)
    record_coverage_consumed(payment.company_id, payment.pledge_id, JAN, 100_000)
    record_city_coverage("dbhcht", JAN, 50_000)
    record_remittance(JAN, "dbhcht", 50_000, "TRF-1")
    record_remittance(JAN, "pledge", 100_000, "TRF-2")
    assert account_balances() == {CASH: 150_000, PREPAID: -200_000, PAYABLE: 0, CITY: 50_000}
    with pytest.raises(LedgerError, match="not a city funder"):
        record_city_coverage("pledge", FEB, 1)
    with pytest.raises(LedgerError, match="positive"):
        record_remittance(FEB, "apbd", 0, "TRF-3")


def test_company_statement_signs_amounts_from_the_sponsor_point_of_view():
    payment = _paid(300_000)
    record_coverage_consumed(payment.company_id, payment.pledge_id, JAN, 100_000)
    book_refund(builders.refund(payment, 50_000, reason="worker moved away"))
    _paid(999, factories.company())  # another sponsor's money stays off this statement
    rows = company_statement(payment.company_id)
    assert [(row.kind, row.amount, row.balance) for row in rows] == [
        (EntryKind.PAYMENT_RECEIVED, 300_000, 300_000),
        (EntryKind.COVERAGE_CONSUMED, -100_000, 200_000),
        (EntryKind.REFUND, -50_000, 150_000),
    ]
    assert rows[1].memo == f"Coverage 2026-01, pledge #{payment.pledge_id}"
    assert rows[2].memo == "Refund: worker moved away"
    assert rows[0].booked_on == date.today()
