"""Property: any sequence of money actions on one or two pledges keeps every rupiah accounted for.

Payments by card and transfer (exact, short, over, twice), staff and Stripe-dashboard refunds,
match runs, the month close, roll-overs and returns of unused money are drawn at random. After
every step the ledger checks pass and, per company and per pledge, what was paid less what was
refunded less the prepaid balance is exactly the coverage of closed months; no balance is
negative, and every pledge's open coverage is paid for by its balance (so closing a month can
never lack money). Each example runs inside its own savepoint, rolled back at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.coverage.closing import close_month
from portal.coverage.exceptions import MonthClosed
from portal.coverage.models import Coverage, MonthClose
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.ledger.queries import pledge_balance, sponsor_balance
from portal.matching.exceptions import MonthNotOpen, StaleProposal
from portal.matching.services import approve_run, propose_run
from portal.payments.exceptions import NothingToRefund, PledgeOnHold
from portal.payments.models import (
    PAYABLE_STATUSES,
    IssueKind,
    IssueStatus,
    Payment,
    PaymentIssue,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundSource,
)
from portal.payments.refunds import refund_payment, refund_pledge, refunded_of
from portal.payments.services import (
    confirm_payment,
    prepare_card_payment,
    start_bank_transfer,
)
from portal.payments.unused import request_return, roll_over
from portal.pledges.exceptions import IllegalPledgeTransition, InvalidPledge
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import (
    PledgeTerms,
    create_pledge,
    earliest_start,
    first_open_start,
    submit_pledge,
)
from tests import factories
from tests.matching import builders

# What a step may meet without anything being wrong: it is then rolled back, like a request.
REFUSED = (
    NothingToRefund,
    IllegalPledgeTransition,
    PledgeOnHold,
    InvalidPledge,
    StaleProposal,
    MonthNotOpen,
    MonthClosed,
)
WORKERS = 3  # eligible workers on the waiting list of each example
_intents = itertools.count(1)

PICK = st.integers(0, 3)  # a pledge (or payment), modulo how many there are
RECEIVED = st.sampled_from(["exact", "short", "over"])
SHARE = st.one_of(st.just(100), st.integers(1, 99))  # percent of what a payment has left
ACTIONS = st.one_of(
    st.tuples(st.just("pay"), PICK, st.sampled_from(["card", "transfer"]), RECEIVED),
    st.tuples(st.just("double_pay"), PICK, RECEIVED, st.booleans()),
    st.tuples(st.just("late_money"), PICK, st.integers(0, 5), RECEIVED),
    st.tuples(st.just("staff_refund"), PICK),
    st.tuples(st.just("dashboard_refund"), PICK, PICK, SHARE),
    st.tuples(st.just("match")),
    st.tuples(st.just("close")),
    st.tuples(st.just("roll_over"), PICK, st.integers(1, 2), st.integers(1, 2)),
    st.tuples(st.just("return"), PICK),
)
# (company 0 or 1, workers, months) of each pledge submitted for payment, and how it is paid
# first (or not); with a match run after these payments or not, so that most examples get to
# placing, closing and refunding
PLEDGES = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.integers(1, 2),
        st.integers(1, 3),
        st.none() | st.sampled_from(["card", "transfer"]),
        RECEIVED,
    ),
    min_size=1,
    max_size=2,
)


@dataclass
class World:
    companies: list[Company]
    owners: dict[int, User]
    staff: User
    staff2: User
    pledge_ids: list[int] = field(default_factory=list)

    def pledge(self, pick: int) -> Pledge:
        return db.session.get(Pledge, self.pledge_ids[pick % len(self.pledge_ids)])

    def company_of(self, pledge: Pledge) -> Company:
        return db.session.get(Company, pledge.company_id)


def _world(spec: list[tuple[int, int, int, str | None, str]]) -> World:
    assert db.session.scalar(select(func.count(Pledge.id))) == 0, "an example saw another's rows"
    companies = [
        factories.company(legal_name=f"PT Sponsor Uang {n}", verified=True) for n in range(2)
    ]
    owners = {c.id: factories.user(Role.SPONSOR_OWNER, company=c) for c in companies}
    world = World(companies, owners, factories.user(Role.STAFF), factories.user(Role.STAFF))
    builders.rules(city_quotas={})
    for _ in range(WORKERS):
        factories.worker()
    for index, workers, months, _, _ in spec:
        company = companies[index]
        pledge = create_pledge(
            company, owners[company.id], PledgeTerms(workers, months, earliest_start())
        )
        submit_pledge(pledge, company, owners[company.id])
        world.pledge_ids.append(pledge.id)
    return world


def _opening(
    spec: list[tuple[int, int, int, str | None, str]], match_first: bool
) -> list[tuple[Any, ...]]:
    paid = [
        ("pay", pick, method, received)
        for pick, (*_, method, received) in enumerate(spec)
        if method is not None
    ]
    return paid + [("match",)] * match_first


def _attempt(name: str, action: Callable[[], Any]) -> Any:
    """Run one step as a request would: a refusal leaves nothing of what it wrote."""
    nested = db.session.begin_nested()
    try:
        result = action()
    except REFUSED as refusal:
        nested.rollback()
        event(f"{name}: {type(refusal).__name__}")
        return None
    nested.commit()
    event(f"{name}: done")
    return result


def _arrived(payment: Payment, received: str) -> int:
    """Stripe takes exactly the amount; a transfer may be short or over."""
    if payment.method == PaymentMethod.STRIPE or received == "exact":
        return payment.amount
    return max(1, payment.amount // 3) if received == "short" else payment.amount + 16_800


def _start(world: World, pledge: Pledge, method: str) -> Payment:
    company, owner = world.company_of(pledge), world.owners[pledge.company_id]
    if method == "transfer":
        return start_bank_transfer(pledge, company, owner)
    payment = prepare_card_payment(pledge, company, owner, allowed=True)
    n = next(_intents)
    payment.stripe_payment_intent, payment.stripe_session_id = f"pi_x{n}", f"cs_x{n}"
    db.session.flush()
    return payment


def _confirm(payment: Payment, received: str) -> bool:
    """Confirm money for an attempt; when its pledge no longer awaited payment, all of it is an
    excess: returned at once (card) or an over-payment issue for staff (transfer)."""
    status = db.session.get(Pledge, payment.pledge_id).status
    amount = _arrived(payment, received)
    source = "stripe" if payment.method == PaymentMethod.STRIPE else "manual"
    assert confirm_payment(payment, amount, None, source)
    if status != PledgeStatus.AWAITING_PAYMENT:
        _assert_excess_handled(payment, amount)
    return True


def _assert_excess_handled(payment: Payment, amount: int) -> None:
    if payment.method == PaymentMethod.STRIPE:
        refunded = db.session.scalar(
            select(func.sum(Refund.amount)).where(
                Refund.payment_id == payment.id, Refund.source == RefundSource.DUPLICATE
            )
        )
        assert refunded == amount, f"duplicate card payment {payment.id} not refunded"
    else:
        issue = db.session.scalar(
            select(func.sum(PaymentIssue.amount)).where(
                PaymentIssue.payment_id == payment.id,
                PaymentIssue.kind == IssueKind.OVERPAYMENT,
                PaymentIssue.status == IssueStatus.OPEN,
            )
        )
        assert issue == amount, f"excess transfer {payment.id} not queued for staff"


def _pay(world: World, pick: int, method: str, received: str) -> None:
    def action() -> bool:
        pledge = world.pledge(pick)
        return _confirm(_start(world, pledge, method), received)

    _attempt(f"pay by {method}, {received if method == 'transfer' else 'exact'}", action)


def _double_pay(world: World, pick: int, received: str, card_first: bool) -> None:
    """A card attempt, then a transfer invoice (which voids it); both are paid."""

    def action() -> bool:
        pledge = world.pledge(pick)
        card = _start(world, pledge, "card")
        transfer = _start(world, pledge, "transfer")
        for payment in (card, transfer) if card_first else (transfer, card):
            _confirm(payment, received)
        return True

    _attempt("double pay", action)


def _late_money(world: World, pick: int, which: int, received: str) -> None:
    """Money arrives for an attempt left pending, voided or expired."""
    pledge = world.pledge(pick)
    payable = list(
        db.session.scalars(
            select(Payment)
            .where(Payment.pledge_id == pledge.id, Payment.status.in_(PAYABLE_STATUSES))
            .order_by(Payment.id)
        )
    )
    if not payable:
        event("late money: no open attempt")
        return
    _attempt("late money", lambda: _confirm(payable[which % len(payable)], received))


def _staff_refund(world: World, pick: int) -> None:
    pledge = world.pledge(pick)
    rows = db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge.id))
    _attempt("staff refund", lambda: refund_pledge(pledge, world.staff, "sponsor withdrew"))
    if rows != db.session.scalar(
        select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge.id)
    ):
        event("staff refund: months released")


def _dashboard_refund(world: World, pick: int, which: int, share: int) -> None:
    """Someone refunds part or all of what is left of a card payment in Stripe's dashboard."""
    pledge = world.pledge(pick)
    cards = [
        (p, left)
        for p in db.session.scalars(
            select(Payment)
            .where(
                Payment.pledge_id == pledge.id,
                Payment.method == PaymentMethod.STRIPE,
                Payment.status == PaymentStatus.PAID,
            )
            .order_by(Payment.id)
        )
        if (left := p.received_amount - refunded_of(p.id)) > 0
    ]
    if not cards:
        event("dashboard refund: no card money left")
        return
    payment, left = cards[which % len(cards)]
    amount = max(1, left * share // 100)
    result = _attempt(
        "dashboard refund",
        lambda: refund_payment(
            payment, amount, RefundSource.STRIPE_DASHBOARD, None, "refunded in Stripe"
        ),
    )
    if result is not None and result.released_rows:
        event("dashboard refund: months released")
    if result is not None and result.unbooked:
        event("dashboard refund: partly unbookable")


def _match(world: World) -> None:
    def action() -> int:
        run = propose_run(earliest_start(), world.staff)
        return approve_run(run, world.staff2)

    if _attempt("match", action):
        event("match: coverage written")


def _close(world: World) -> None:
    closed = _attempt("close", lambda: close_month(earliest_start(), None))
    if closed is not None and db.session.scalar(select(func.count(Coverage.id)).where(_closed())):
        event("close: coverage consumed")


def _roll_over(world: World, pick: int, workers: int, months: int) -> None:
    pledge = world.pledge(pick)
    owner = world.owners[pledge.company_id]
    new = _attempt(
        "roll over",
        lambda: roll_over(
            pledge, world.company_of(pledge), owner, workers, months, first_open_start()
        ),
    )
    if new is not None:
        world.pledge_ids.append(new.id)


def _return(world: World, pick: int) -> None:
    pledge = world.pledge(pick)
    _attempt("return", lambda: request_return(pledge, world.owners[pledge.company_id]))


APPLY: dict[str, Callable[..., None]] = {
    "pay": _pay,
    "double_pay": _double_pay,
    "late_money": _late_money,
    "staff_refund": _staff_refund,
    "dashboard_refund": _dashboard_refund,
    "match": _match,
    "close": _close,
    "roll_over": _roll_over,
    "return": _return,
}


# ---------------------------------------------------------------- the invariants


def _by(column: Any, stmt: Any) -> dict[int, int]:
    return {int(key): int(total) for key, total in db.session.execute(stmt.group_by(column))}


def _closed() -> Any:
    return Coverage.month.in_(select(MonthClose.month))


# Per company, then per pledge: the column naming it on payments, refunds, pledges (to reach
# coverage) and ledger lines, its prepaid balance, and the rows to check.
LEVELS: tuple[
    tuple[Any, Any, Any, Any, Callable[[int], int], Callable[[World], list[int]]], ...
] = (
    (
        Payment.company_id,
        Refund.company_id,
        Pledge.company_id,
        LedgerLine.company_id,
        sponsor_balance,
        lambda world: [c.id for c in world.companies],
    ),
    (
        Payment.pledge_id,
        Refund.pledge_id,
        Pledge.id,
        LedgerLine.pledge_id,
        pledge_balance,
        lambda world: world.pledge_ids,
    ),
)


def _assert_money_accounted(world: World) -> None:
    problems = check_ledger()
    assert problems == [], problems
    assert (
        db.session.scalar(
            select(func.count(Payment.id)).where(
                Payment.status == PaymentStatus.PAID, Payment.received_amount.is_(None)
            )
        )
        == 0
    )
    for paid_by, refund_of, owner, line_of, balance_of, ids in LEVELS:
        paid = _by(
            paid_by,
            select(paid_by, func.sum(Payment.received_amount)).where(
                Payment.status == PaymentStatus.PAID
            ),
        )
        refunded = _by(refund_of, select(refund_of, func.sum(Refund.amount)))
        covered = _by(
            owner,
            select(owner, func.sum(Coverage.amount))
            .join(Pledge, Pledge.id == Coverage.pledge_id)
            .where(_closed()),
        )
        consumed = _by(
            line_of,
            select(line_of, func.sum(LedgerLine.amount))
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(
                LedgerEntry.kind == EntryKind.COVERAGE_CONSUMED,
                LedgerLine.account == Account.SPONSOR_PREPAID,
            ),
        )
        for row_id in ids(world):
            what, balance = f"{paid_by.key} {row_id}", balance_of(row_id)
            assert balance >= 0, f"{what}: balance {balance}"
            used = paid.get(row_id, 0) - refunded.get(row_id, 0) - balance
            assert used == covered.get(row_id, 0), (
                f"{what}: paid {paid.get(row_id, 0)} - refunded {refunded.get(row_id, 0)} - "
                f"balance {balance} = {used}, but closed months' coverage is "
                f"{covered.get(row_id, 0)}"
            )
            assert used == consumed.get(row_id, 0), (
                f"{what}: {used} used but {consumed.get(row_id, 0)} booked as consumed"
            )
    open_cost = _by(
        Coverage.pledge_id,
        select(Coverage.pledge_id, func.sum(Coverage.amount)).where(
            Coverage.pledge_id.is_not(None), ~_closed()
        ),
    )
    waiting = _by(
        PaymentIssue.pledge_id,
        select(PaymentIssue.pledge_id, func.sum(PaymentIssue.amount)).where(
            PaymentIssue.status == IssueStatus.OPEN,
            PaymentIssue.kind.in_([IssueKind.OVERPAYMENT, IssueKind.REFUND_REQUEST]),
        ),
    )
    for pledge_id in world.pledge_ids:
        pledge, balance = db.session.get(Pledge, pledge_id), pledge_balance(pledge_id)
        assert balance >= open_cost.get(pledge_id, 0), (
            f"pledge {pledge_id}: open coverage {open_cost.get(pledge_id, 0)} costs more than "
            f"its balance {balance}"
        )
        # No money is kept silently: beyond the price, it waits for staff as an open issue.
        assert balance <= pledge.price_total + waiting.get(pledge_id, 0), (
            f"pledge {pledge_id} ({pledge.status}): balance {balance} exceeds its price "
            f"{pledge.price_total} and the open over-payment and return issues "
            f"{waiting.get(pledge_id, 0)}"
        )


@settings(max_examples=50, deadline=None)
@given(spec=PLEDGES, match_first=st.booleans(), actions=st.lists(ACTIONS, max_size=10))
def test_random_money_actions_keep_every_rupiah_accounted_for(app, spec, match_first, actions):
    savepoint = db.session.begin_nested()  # each example starts from the same empty tables
    try:
        world = _world(spec)
        _assert_money_accounted(world)
        for name, *args in _opening(spec, match_first) + actions:
            APPLY[name](world, *args)
            _assert_money_accounted(world)
    finally:
        savepoint.rollback()
