"""Property: any sequence of payments, consumption, refunds and replays keeps the ledger sound."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.companies.models import Company
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.exceptions import DuplicateEntry, InsufficientBalance
from portal.ledger.models import LedgerEntry, LedgerLine
from portal.ledger.queries import account_balances, pledge_balance, sponsor_balance
from portal.ledger.services import record_coverage_consumed
from portal.payments.booking import book_payment, book_refund
from portal.payments.models import Payment
from tests import factories
from tests.ledger import builders

COMPANY = st.integers(0, 2)
PICK = st.integers(0, 50)
# Percent of what is left on the pledge: some, all of it, or too much (which must be refused).
SHARE = st.one_of(st.integers(1, 99), st.just(100), st.integers(101, 150))
OPERATIONS = st.one_of(
    st.tuples(st.just("pay"), COMPANY, st.integers(1, 50_000_000)),
    st.tuples(st.just("consume"), PICK, SHARE),
    st.tuples(st.just("refund"), PICK, SHARE),
    st.tuples(st.just("replay"), PICK),
)


@dataclass
class Model:
    """What the ledger should say, kept independently in plain Python."""

    companies: list[Company]
    paid: Counter[int] = field(default_factory=Counter)
    consumed: Counter[int] = field(default_factory=Counter)
    refunded: Counter[int] = field(default_factory=Counter)
    left: Counter[int] = field(default_factory=Counter)  # by pledge
    months: Counter[int] = field(default_factory=Counter)  # months consumed, by pledge
    payments: list[Payment] = field(default_factory=list)
    applied: list[Callable[[], Any]] = field(default_factory=list)

    def expected_balance(self, company: Company) -> int:
        return self.paid[company.id] - self.consumed[company.id] - self.refunded[company.id]


def _attempt(name: str, action: Callable[[], Any], refused: bool) -> bool:
    """Run one operation as a request would: refused means nothing it wrote stays."""
    nested = db.session.begin_nested()
    try:
        action()
    except InsufficientBalance:
        nested.rollback()
        event(f"{name} refused")
        assert refused, "refused although the balance covers it"
        return False
    nested.commit()
    event(f"{name} accepted")
    assert not refused, "accepted although the balance does not cover it"
    return True


def _pay(model: Model, index: int, amount: int) -> None:
    company = model.companies[index]
    payment = builders.payment(company, amount)
    book_payment(payment)
    model.paid[company.id] += amount
    model.left[payment.pledge_id] += amount
    model.payments.append(payment)
    model.applied.append(lambda: book_payment(payment))


def _chosen(model: Model, pick: int, share: int) -> tuple[Payment, int] | None:
    if not model.payments:
        return None
    payment = model.payments[pick % len(model.payments)]
    return payment, max(1, model.left[payment.pledge_id] * share // 100)


def _consume(model: Model, pick: int, share: int) -> None:
    chosen = _chosen(model, pick, share)
    if chosen is None:
        return
    payment, amount = chosen
    n = model.months[payment.pledge_id]
    args = (payment.company_id, payment.pledge_id, date(2026 + n // 12, n % 12 + 1, 1), amount)
    if _attempt(
        "consume",
        lambda: record_coverage_consumed(*args),
        refused=amount > model.left[payment.pledge_id],
    ):
        model.left[payment.pledge_id] -= amount
        model.consumed[payment.company_id] += amount
        model.months[payment.pledge_id] += 1
        model.applied.append(lambda: record_coverage_consumed(*args))


def _refund(model: Model, pick: int, share: int) -> None:
    chosen = _chosen(model, pick, share)
    if chosen is None:
        return
    payment, amount = chosen
    rows = []

    def action() -> None:
        rows.append(builders.refund(payment, amount))
        book_refund(rows[0])

    if _attempt("refund", action, refused=amount > model.left[payment.pledge_id]):
        model.left[payment.pledge_id] -= amount
        model.refunded[payment.company_id] += amount
        model.applied.append(lambda: book_refund(rows[0]))


def _snapshot(model: Model) -> tuple[Any, ...]:
    counts = db.session.execute(
        select(
            select(func.count()).select_from(LedgerEntry).scalar_subquery(),
            select(func.count()).select_from(LedgerLine).scalar_subquery(),
        )
    ).one()
    return (
        tuple(counts),
        account_balances(),
        [sponsor_balance(company.id) for company in model.companies],
    )


def _replay(model: Model, pick: int) -> None:
    if not model.applied:
        return
    before = _snapshot(model)
    event("an operation was replayed")
    with pytest.raises(DuplicateEntry):
        model.applied[pick % len(model.applied)]()
    assert _snapshot(model) == before


APPLY: dict[str, Callable[..., None]] = {
    "pay": _pay,
    "consume": _consume,
    "refund": _refund,
    "replay": _replay,
}


def _assert_matches(model: Model) -> None:
    for company in model.companies:
        assert sponsor_balance(company.id) == model.expected_balance(company) >= 0
    for pledge_id, left in model.left.items():
        assert pledge_balance(pledge_id) == left


@pytest.fixture
def three_companies() -> list[Company]:
    return [factories.company(legal_name=f"PT Sponsor {n}", verified=True) for n in range(3)]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    opening=st.lists(st.integers(1, 50_000_000), min_size=3, max_size=3),
    operations=st.lists(OPERATIONS, min_size=1, max_size=20),
)
def test_random_operations_keep_the_ledger_sound(three_companies, opening, operations):
    nested = db.session.begin_nested()  # each example starts from the same empty ledger
    try:
        model = Model(three_companies)
        steps = [("pay", index, amount) for index, amount in enumerate(opening)] + operations
        for name, *args in steps:
            APPLY[name](model, *args)
            _assert_matches(model)
        assert check_ledger() == []
    finally:
        nested.rollback()
