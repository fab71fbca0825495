"""check_ledger finds every kind of break made by direct inserts; `flask ledger check` exits 1."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from itertools import count

import pytest
from flask import Flask
from sqlalchemy import event, text

from portal.companies.models import Company
from portal.extensions import db
from portal.ledger.checks import LIMIT, check_ledger
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.ledger.services import record_coverage_consumed
from portal.payments.booking import book_payment, book_refund
from portal.payments.models import Payment, PaymentStatus
from tests import factories
from tests.ledger import builders

CASH, PREPAID, PAYABLE = Account.CASH, Account.SPONSOR_PREPAID, Account.PAYABLE_BPJS


@dataclass
class World:
    """A sound ledger: company A paid 1,000,000 and used 200,000; company B has nothing."""

    a: Company
    b: Company
    payment: Payment

    @property
    def pledge_id(self) -> int:
        return self.payment.pledge_id


@pytest.fixture
def world() -> Iterator[World]:
    """The breaks happen in a savepoint undone at the end, so the ledger is sound afterwards."""
    nested = db.session.begin_nested()
    a, b = factories.company(verified=True), factories.company(verified=True)
    payment = builders.payment(a, 1_000_000)
    book_payment(payment)
    record_coverage_consumed(a.id, payment.pledge_id, date(2026, 1, 1), 200_000)
    assert check_ledger() == []
    yield World(a, b, payment)
    nested.rollback()


_keys = count(1)


def _raw(kind: EntryKind, *lines: tuple[Account, int, dict[str, int]]) -> LedgerEntry:
    """An entry written straight to the tables, past every service check."""
    entry = LedgerEntry(
        kind=kind,
        source_key=f"raw:{next(_keys)}",
        lines=[
            LedgerLine(account=account, amount=amount, **refs) for account, amount, refs in lines
        ],
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@contextmanager
def _check_constraints_off() -> Iterator[None]:
    """Let a zero line in, as a hand-edited database could; PostgreSQL undoes it on rollback."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("PRAGMA ignore_check_constraints = 1"))
        try:
            yield
        finally:
            db.session.execute(text("PRAGMA ignore_check_constraints = 0"))
    else:
        db.session.execute(
            text("ALTER TABLE ledger_line DROP CONSTRAINT ck_ledger_line_amount_non_zero")
        )
        yield


def _of(w: World, company: Company | None = None, **refs: int) -> dict[str, int]:
    return {"company_id": (company or w.a).id, **refs}


def _unbalanced(w: World) -> str:
    entry = _raw(EntryKind.REMITTANCE, (PAYABLE, 100, {}), (CASH, -90, {}))
    return rf"entry {entry.id}: 2 line\(s\) summing to 10;"


def _single_line(w: World) -> str:
    entry = _raw(EntryKind.REMITTANCE, (CASH, 100, {}))
    return rf"entry {entry.id}: 1 line\(s\) summing to 100;"


def _zero_line(w: World) -> str:
    with _check_constraints_off():
        entry = _raw(EntryKind.REMITTANCE, (PAYABLE, 100, {}), (CASH, -100, {}), (CASH, 0, {}))
    return rf"line \d+ of entry {entry.id} has amount 0"


def _company_overdrawn(w: World) -> str:
    _raw(
        EntryKind.COVERAGE_CONSUMED,
        (PREPAID, 900_001, _of(w, pledge_id=w.pledge_id)),
        (PAYABLE, -900_001, {}),
    )
    return rf"company {w.a.id}: prepaid balance -100001 is below 0"


def _pledge_overdrawn(w: World) -> str:
    book_payment(builders.payment(w.a, 5_000_000))
    _raw(
        EntryKind.COVERAGE_CONSUMED,
        (PREPAID, 900_001, _of(w, pledge_id=w.pledge_id)),
        (PAYABLE, -900_001, {}),
    )
    assert not any(p.startswith("company") for p in check_ledger())
    return rf"pledge {w.pledge_id}: prepaid balance -100001 is below 0"


def _paid_without_entry(w: World) -> str:
    payment = builders.payment(w.b, 16_800)
    return rf"payment {payment.id} of 16800 has no payment_received entry"


def _pending_with_entry(w: World) -> str:
    payment = builders.payment(w.b, 16_800, status=PaymentStatus.PENDING)
    refs = _of(w, w.b, pledge_id=payment.pledge_id, payment_id=payment.id)
    _raw(EntryKind.PAYMENT_RECEIVED, (CASH, 16_800, refs), (PREPAID, -16_800, refs))
    return rf"payment {payment.id} is pending but has a payment_received entry"


def _paid_twice(w: World) -> str:
    refs = _of(w, pledge_id=w.pledge_id, payment_id=w.payment.id)
    _raw(EntryKind.PAYMENT_RECEIVED, (CASH, 1_000_000, refs), (PREPAID, -1_000_000, refs))
    return rf"payment {w.payment.id} has 2 payment_received entries instead of 1"


def _paid_wrong_amount(w: World) -> str:
    payment = builders.payment(w.b, 16_800)
    refs = _of(w, w.b, pledge_id=payment.pledge_id, payment_id=payment.id)
    _raw(EntryKind.PAYMENT_RECEIVED, (CASH, 16_000, refs), (PREPAID, -16_000, refs))
    return rf"payment {payment.id} of 16800 is booked as 16000"


def _refund_without_entry(w: World) -> str:
    refund = builders.refund(w.payment, 100)
    return rf"refund {refund.id} of 100 has no refund entry"


def _refund_wrong_amount(w: World) -> str:
    refund = builders.refund(w.payment, 100)
    refs = _of(w, pledge_id=w.pledge_id, payment_id=w.payment.id, refund_id=refund.id)
    _raw(EntryKind.REFUND, (PREPAID, 90, refs), (CASH, -90, refs))
    return rf"refund {refund.id} of 100 is booked as 90"


def _refund_booked_twice(w: World) -> str:
    refund = builders.refund(w.payment, 100)
    book_refund(refund)
    refs = _of(w, pledge_id=w.pledge_id, payment_id=w.payment.id, refund_id=refund.id)
    _raw(EntryKind.REFUND, (PREPAID, 100, refs), (CASH, -100, refs))
    return rf"refund {refund.id} has 2 refund entries instead of 1"


def _orphan_entry(w: World) -> str:
    entry = LedgerEntry(kind=EntryKind.REMITTANCE, source_key="remit:orphan")
    db.session.add(entry)
    db.session.flush()
    return rf"entry {entry.id} \(remittance remit:orphan\) has no lines"


def _payment_entry_without_payment(w: World) -> str:
    entry = _raw(EntryKind.PAYMENT_RECEIVED, (CASH, 5, _of(w)), (PREPAID, -5, _of(w)))
    return rf"payment_received entry {entry.id} names 0 payment_id values instead of 1"


def _prepaid_without_company(w: World) -> str:
    entry = _raw(EntryKind.REMITTANCE, (PREPAID, -5, {}), (CASH, 5, {}))
    return rf"line \d+ of entry {entry.id} is sponsor prepaid money without a company"


def _line_of_another_company_payment(w: World) -> str:
    refs = _of(w, w.b, payment_id=w.payment.id)
    _raw(EntryKind.REMITTANCE, (CASH, 5, refs), (PAYABLE, -5, refs))
    return rf"names company {w.b.id} but payment {w.payment.id} belongs to company {w.a.id}"


def _line_of_another_company_pledge(w: World) -> str:
    refs = {"pledge_id": w.pledge_id}  # no company at all is a mismatch too
    _raw(EntryKind.REMITTANCE, (CASH, 5, refs), (PAYABLE, -5, refs))
    return rf"names company None but pledge {w.pledge_id} belongs to company {w.a.id}"


def _line_of_another_company_refund(w: World) -> str:
    refund = builders.refund(w.payment, 100)
    book_refund(refund)
    refs = _of(w, w.b, refund_id=refund.id)
    _raw(EntryKind.REMITTANCE, (CASH, 5, refs), (PAYABLE, -5, refs))
    return rf"names company {w.b.id} but refund {refund.id} belongs to company {w.a.id}"


def _refunds_beyond_payment(w: World) -> str:
    builders.refund(w.payment, 600_000)
    builders.refund(w.payment, 400_001)
    return rf"payment {w.payment.id} of 1000000 has refunds totalling 1000001"


BREAKS: list[Callable[[World], str]] = [
    _unbalanced,
    _single_line,
    _zero_line,
    _company_overdrawn,
    _pledge_overdrawn,
    _paid_without_entry,
    _pending_with_entry,
    _paid_twice,
    _paid_wrong_amount,
    _refund_without_entry,
    _refund_wrong_amount,
    _refund_booked_twice,
    _orphan_entry,
    _payment_entry_without_payment,
    _prepaid_without_company,
    _line_of_another_company_payment,
    _line_of_another_company_pledge,
    _line_of_another_company_refund,
    _refunds_beyond_payment,
]


@pytest.mark.parametrize("brk", BREAKS, ids=[b.__name__.strip("_") for b in BREAKS])
def test_check_ledger_reports_each_kind_of_break(world, brk):
    expected = brk(world)
    problems = check_ledger()
    assert any(re.search(expected, problem) for problem in problems), problems


def test_a_widely_broken_ledger_gives_a_bounded_report(world):
    for n in range(LIMIT + 5):
        db.session.add(LedgerEntry(kind=EntryKind.REMITTANCE, source_key=f"orphan:{n}"))
    db.session.flush()
    problems = check_ledger()
    assert len(problems) == LIMIT + 1
    assert problems[-1].startswith("... and more problems like: entry")


def test_check_ledger_query_count_does_not_grow_with_the_ledger(world):
    def queries() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert check_ledger() == []
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    small = queries()
    assert small > 0
    for _ in range(30):
        payment = builders.payment(world.b, 10_000)
        book_payment(payment)
        book_refund(builders.refund(payment, 1_000))
    assert queries() == small


def test_cli_check_exits_0_on_a_sound_ledger(app: Flask, world: World):
    result = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "33.74 Kota Semarang: ledger OK, 2 entries, 4 lines",
        "All regions: ledger OK, 2 entries, 4 lines",
    ]


def test_cli_check_exits_1_and_lists_the_problems_on_a_broken_ledger(app: Flask, world: World):
    expected = _paid_twice(world)
    _orphan_entry(world)
    result = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert re.search(expected, result.output)
    assert "has no lines" in result.output
    assert "33.74 Kota Semarang: ledger BROKEN, 2 problem(s)" in result.output
    assert "All regions: ledger BROKEN, 2 problem(s)" in result.output
    assert result.output.count("has no lines") == 1  # the total repeats no region's problem
