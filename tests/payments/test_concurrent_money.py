"""A refund, a month close and Stripe refund events for one pledge at the same moment.

Runs on its own database of the suite's kind (PostgreSQL when TEST_DATABASE_URL is set, else a
SQLite file, where writers take turns), with real separate processes, as a staff member's
request, the month-close command and Stripe's webhook deliveries on separate gunicorn workers
would. Whatever order the database lets them run in, every rupiah of the card payment ends up
consumed, refunded or still prepaid, once, and the ledger stays sound.
"""

from __future__ import annotations

import itertools
import multiprocessing
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.coverage.closing import close_month
from portal.coverage.exceptions import EarlierMonthOpen, MonthClosed
from portal.coverage.models import Coverage, MonthClose
from portal.db import utcnow
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.ledger.queries import pledge_balance
from portal.matching import services
from portal.payments.booking import book_payment
from portal.payments.exceptions import NothingToRefund
from portal.payments.models import (
    IssueKind,
    Payment,
    PaymentIssue,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundSource,
    StripeEvent,
)
from portal.payments.refunds import refund_pledge
from portal.payments.services import METADATA_MARK
from portal.payments.stripe_gateway import to_stripe_amount
from portal.payments.webhooks import event_recorded, handle_stripe_event
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, price_pledge, total
from portal.pledges.services import earliest_start
from portal.reference.seed import seed_reference
from tests import factories
from tests.matching import builders

MONTHS = 3
# Each race runs over ROUNDS pledges of one database, in the same processes (starting them is
# the slow part). A month closes once per database: the close race runs on new ones again.
ROUNDS = 6
CLOSE_ATTEMPTS = 2
# What a process may lose a race with (the others' work made its own unnecessary).
EXPECTED = (MonthClosed, EarlierMonthOpen, NothingToRefund)
_seq = itertools.count(1)


def _settings(url: str) -> TestingConfig:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    return settings


@dataclass(frozen=True)
class Prepared:
    """What the processes and the checks need, as plain values (they cross processes)."""

    pledge_id: int
    payment_id: int
    staff_id: int
    intent: str
    paid: int
    month: date  # next month: the first of the term, closable now
    costs: tuple[int, ...]  # the pledge's coverage per month of its term, first month first


def _card_paid_pledge(company: Company, workers: int, months: int, start: date) -> Payment:
    """A pledge priced from the rate schedule, paid by card (a Stripe payment intent) and
    booked in the ledger, as builders.paid_pledge does for a transfer."""
    owner = db.session.scalars(select(User).where(User.company_id == company.id)).one()
    lines = price_pledge(workers, months, start)
    pledge = Pledge(
        company_id=company.id,
        created_by_id=owner.id,
        status=PledgeStatus.PAID,
        workers=workers,
        months=months,
        start_month=start,
        target_categories=[],
        target_kecamatan=[],
        price_breakdown=[line.as_json() for line in lines],
        price_total=total(lines),
    )
    db.session.add(pledge)
    db.session.flush()
    n = next(_seq)
    payment = Payment(
        pledge_id=pledge.id,
        company_id=company.id,
        method=PaymentMethod.STRIPE,
        status=PaymentStatus.PAID,
        amount=pledge.price_total,
        received_amount=pledge.price_total,
        reference=f"PJS-CONC-{n:06d}",
        idempotency_key=f"conc-money-{n}",
        stripe_session_id=f"cs_conc_{n}",
        stripe_payment_intent=f"pi_conc_{n}",
        paid_at=utcnow(),
    )
    db.session.add(payment)
    db.session.flush()
    book_payment(payment)
    return payment


def _prepare(pledges: int) -> list[Prepared]:
    """Card-paid pledges of one worker each, placed for MONTHS months from next month (one
    sponsor and one worker per pledge), committed."""
    db.create_all()
    seed_reference()
    staff = factories.user(Role.STAFF)
    builders.rules(city_quotas={}, require_second_approver=False)  # one staff member here
    month = earliest_start()
    payments = []
    for _ in range(pledges):
        factories.worker()
        payments.append(
            _card_paid_pledge(builders.sponsor(), workers=1, months=MONTHS, start=month)
        )
    services.approve_run(services.propose_run(month, staff), staff)
    db.session.commit()
    prepared = []
    for payment in payments:
        costs: dict[date, int] = {
            first: int(amount)
            for first, amount in db.session.execute(
                select(Coverage.month, func.sum(Coverage.amount))
                .where(Coverage.pledge_id == payment.pledge_id)
                .group_by(Coverage.month)
            )
        }
        assert len(costs) == MONTHS, "the worker is placed for the whole term"
        assert db.session.get_one(Pledge, payment.pledge_id).status == PledgeStatus.ACTIVE
        prepared.append(
            Prepared(
                pledge_id=payment.pledge_id,
                payment_id=payment.id,
                staff_id=staff.id,
                intent=str(payment.stripe_payment_intent),
                paid=payment.amount,
                month=month,
                costs=tuple(costs[m] for m in sorted(costs)),
            )
        )
    return prepared


def _prepared_database(url: str, pledges: int = 1) -> list[Prepared]:
    app = create_app(_settings(url))
    with app.app_context():
        prepared = _prepare(pledges)
        db.session.remove()
        db.engine.dispose()
    return prepared


def charge_refunded(prepared: Prepared, event_id: str, refunded: int) -> dict[str, Any]:
    """Stripe's charge.refunded for the card payment: `refunded` rupiah in total so far."""
    charge = {
        "id": f"ch_{prepared.intent}",
        "object": "charge",
        "payment_intent": prepared.intent,
        "amount": to_stripe_amount(prepared.paid),
        "amount_refunded": to_stripe_amount(refunded),
        "currency": "idr",
        "metadata": {
            "portal": METADATA_MARK,
            "pledge_id": str(prepared.pledge_id),
            "payment_id": str(prepared.payment_id),
        },
    }
    return {
        "id": event_id,
        "object": "event",
        "type": "charge.refunded",
        "data": {"object": charge},
    }


# In each process ------------------------------------------------------------------------


def _close(month: str) -> str:
    close_month(date.fromisoformat(month), None)
    db.session.commit()
    return "closed"


def _refund(pledge_id: int, staff_id: int) -> str:
    refunds = refund_pledge(
        db.session.get_one(Pledge, pledge_id),
        db.session.get_one(User, staff_id),
        "sponsor withdrew",
    )
    db.session.commit()
    assert refunds, "a refund that raised nothing returned something"
    return "refunded"


def _webhook(event: dict[str, Any]) -> str:
    """As the webhook view does: apply, commit; a twin delivery that committed first makes
    this one's event row collide, which is answered as a duplicate."""
    try:
        handled = handle_stripe_event(event)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not event_recorded(event["id"]):
            raise
        return "duplicate"
    return handled.outcome


OPERATIONS: dict[str, Callable[..., str]] = {
    "close": _close,
    "refund": _refund,
    "webhook": _webhook,
}


Step = tuple[str, tuple[Any, ...]]  # an operation's name and its arguments


def run_at_once(
    url: str,
    label: str,
    steps: list[Step],
    in_step: bool,
    barrier: Barrier,
    results: Queue[tuple[str, int, str]],
) -> None:
    """One process: wait for the others, then run its steps one after another (in_step: each
    step waits for the others' same step), reporting how each ended: a lost race by the
    exception's name, anything unexpected as 'error' and its traceback. The app is made once:
    starting processes is the slow part."""
    app = create_app(_settings(url))
    with app.app_context():
        db.session.execute(select(1))  # connected before the start, not after
        db.session.rollback()
        for number, (operation, args) in enumerate(steps):
            outcome = "error: did not run"
            try:
                if in_step or number == 0:
                    barrier.wait(timeout=60)
                outcome = OPERATIONS[operation](*args)
            except EXPECTED as error:
                db.session.rollback()
                outcome = type(error).__name__
            except Exception:  # reported to the parent, which fails with it
                db.session.rollback()
                outcome = "error: " + traceback.format_exc()
            finally:
                results.put((label, number, outcome))
                db.session.remove()
        db.engine.dispose()


def _race(url: str, jobs: dict[str, list[Step]], in_step: bool = True) -> dict[str, list[str]]:
    """Start one process per label, all together, each running its steps (in_step: the n-th
    steps of all processes together, round by round); each label's outcomes, step by step."""
    if in_step:
        assert len({len(steps) for steps in jobs.values()}) == 1, "a step for every round"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(jobs)), context.Queue()
    workers = [
        context.Process(target=run_at_once, args=(url, label, steps, in_step, barrier, results))
        for label, steps in jobs.items()
    ]
    outcomes = {label: [""] * len(steps) for label, steps in jobs.items()}
    try:
        for worker in workers:
            worker.start()
        for _ in range(sum(len(steps) for steps in jobs.values())):
            label, number, outcome = results.get(timeout=120)
            outcomes[label][number] = outcome
        for worker in workers:
            worker.join(timeout=60)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
        results.close()
        results.join_thread()
    errors = [
        f"{label}, step {number}: {outcome}"
        for label, found in outcomes.items()
        for number, outcome in enumerate(found)
        if outcome.startswith("error")
    ]
    assert not errors, "\n".join(errors)
    return outcomes


def _round(outcomes: dict[str, list[str]], number: int) -> dict[str, str]:
    return {label: found[number] for label, found in outcomes.items()}


# In the parent, afterwards ----------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    """Where the pledge's money went, read back from the rows and from the ledger."""

    balance: int
    refunds: dict[RefundSource, int]
    refund_rows: int
    refund_entries: int
    consumed_booked: int  # coverage_consumed entries on the pledge's prepaid balance
    consumed_covered: int  # the pledge's coverage in closed months
    months_left: list[date]  # months in which the pledge still has coverage
    open_coverage: int  # the pledge's coverage in months not closed
    unbooked: int

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())


def _money(pledge_id: int) -> Money:
    closed = select(MonthClose.month)
    refunds: dict[RefundSource, int] = {}
    for source, amount in db.session.execute(
        select(Refund.source, func.sum(Refund.amount))
        .where(Refund.pledge_id == pledge_id)
        .group_by(Refund.source)
    ):
        refunds[RefundSource(source)] = int(amount)
    refund_ids = select(Refund.id).where(Refund.pledge_id == pledge_id)
    covered = select(func.coalesce(func.sum(Coverage.amount), 0)).where(
        Coverage.pledge_id == pledge_id
    )
    return Money(
        balance=pledge_balance(pledge_id),
        refunds=refunds,
        refund_rows=int(
            db.session.scalar(select(func.count(Refund.id)).where(Refund.pledge_id == pledge_id))
            or 0
        ),
        refund_entries=int(
            db.session.scalar(
                select(func.count(func.distinct(LedgerEntry.id)))
                .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
                .where(LedgerEntry.kind == EntryKind.REFUND, LedgerLine.refund_id.in_(refund_ids))
            )
            or 0
        ),
        consumed_booked=int(
            db.session.scalar(
                select(func.coalesce(func.sum(LedgerLine.amount), 0))
                .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
                .where(
                    LedgerEntry.kind == EntryKind.COVERAGE_CONSUMED,
                    LedgerLine.account == Account.SPONSOR_PREPAID,
                    LedgerLine.pledge_id == pledge_id,
                )
            )
            or 0
        ),
        consumed_covered=int(db.session.scalar(covered.where(Coverage.month.in_(closed))) or 0),
        months_left=sorted(
            db.session.scalars(
                select(Coverage.month).distinct().where(Coverage.pledge_id == pledge_id)
            )
        ),
        open_coverage=int(db.session.scalar(covered.where(Coverage.month.not_in(closed))) or 0),
        unbooked=int(
            db.session.scalar(
                select(func.coalesce(func.sum(PaymentIssue.amount), 0)).where(
                    PaymentIssue.pledge_id == pledge_id,
                    PaymentIssue.kind == IssueKind.UNBOOKABLE_REFUND,
                )
            )
            or 0
        ),
    )


def _check_money(prepared: Prepared, money: Money) -> None:
    """What holds whatever the order: each rupiah once, and the ledger sound."""
    assert check_ledger() == []
    assert money.balance >= 0
    assert money.consumed_booked == money.consumed_covered
    assert prepared.paid == money.consumed_booked + money.refunded + money.balance
    assert money.refund_entries == money.refund_rows, "each refund booked once"
    assert money.refunded <= prepared.paid
    assert money.open_coverage <= money.balance, "open coverage stays paid for"


# The races --------------------------------------------------------------------------------


@pytest.mark.own_database
@pytest.mark.parametrize("attempt", range(CLOSE_ATTEMPTS))
def test_close_staff_refund_and_dashboard_refund_at_once(
    fresh_database_url: str, attempt: int
) -> None:
    """Next month's close of every pledge, while staff refund everything of one pledge after
    another (first to last) and Stripe reports the last two months of each refunded (last to
    first): the close meets each pledge before, between or after the others. The close always
    happens; the refunds take what the others left."""
    pledges = _prepared_database(fresh_database_url, ROUNDS)
    outcomes = _race(
        fresh_database_url,
        {
            "close": [("close", (pledges[0].month.isoformat(),))],
            "refund": [("refund", (p.pledge_id, p.staff_id)) for p in pledges],
            "webhook": [
                (
                    "webhook",
                    (charge_refunded(p, f"evt_part_{p.pledge_id}", p.costs[1] + p.costs[2]),),
                )
                for p in reversed(pledges)
            ],
        },
        in_step=False,
    )

    assert outcomes["close"] == ["closed"]
    outcomes["webhook"].reverse()
    app = create_app(_settings(fresh_database_url))
    with app.app_context():
        for number, prepared in enumerate(pledges):
            first, second, third = prepared.costs
            refund, webhook = outcomes["refund"][number], outcomes["webhook"][number]
            assert refund in ("refunded", "NothingToRefund")
            assert webhook in ("refund_recorded", "refund_unbookable")
            money = _money(prepared.pledge_id)
            _check_money(prepared, money)
            # The staff refund returns whatever the close and the dashboard left. A staff card
            # refund not yet sent is not in Stripe's total, so a dashboard refund after it is
            # more than the pledge holds: an issue for staff, never a silent "known".
            assert money.balance == 0
            assert money.unbooked == (second + third if webhook == "refund_unbookable" else 0)
            assert money.open_coverage == 0
            # Next month was closed with the worker in it (consumed) or released before.
            assert money.months_left in ([], [prepared.month])
            assert money.consumed_covered == (first if money.months_left else 0)
            assert money.refunds.get(RefundSource.STRIPE_DASHBOARD, 0) == (
                second + third if webhook == "refund_recorded" else 0
            )
            assert (RefundSource.STAFF in money.refunds) == (refund == "refunded")
        assert db.session.scalar(select(func.count()).select_from(MonthClose)) == 1
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == ROUNDS
        db.session.remove()
        db.engine.dispose()


@pytest.mark.own_database
def test_two_dashboard_refund_events_and_a_staff_refund_at_once(fresh_database_url: str) -> None:
    """Stripe reports the last month refunded, then the last two (cumulative totals), while
    staff refund everything: the refunds add up to the payment exactly, each booked once."""
    pledges = _prepared_database(fresh_database_url, ROUNDS)
    outcomes = _race(
        fresh_database_url,
        {
            "refund": [("refund", (p.pledge_id, p.staff_id)) for p in pledges],
            "webhook-1": [
                ("webhook", (charge_refunded(p, f"evt_one_{p.pledge_id}", p.costs[2]),))
                for p in pledges
            ],
            "webhook-2": [
                (
                    "webhook",
                    (charge_refunded(p, f"evt_two_{p.pledge_id}", p.costs[1] + p.costs[2]),),
                )
                for p in pledges
            ],
        },
    )

    app = create_app(_settings(fresh_database_url))
    with app.app_context():
        for number, prepared in enumerate(pledges):
            found = _round(outcomes, number)
            _, second, third = prepared.costs
            assert found["refund"] == "refunded", "the events leave the first month to it"
            assert {found["webhook-1"], found["webhook-2"]} <= {
                "refund_recorded",
                "refund_known",
                "refund_unbookable",
            }
            money = _money(prepared.pledge_id)
            _check_money(prepared, money)
            assert money.refunded == prepared.paid
            assert money.balance == money.consumed_booked == 0
            assert money.months_left == []
            # Stripe's last total is the last two months: booked or, where the unsent staff
            # refund took the money first, an issue for staff.
            assert money.refunds.get(RefundSource.STRIPE_DASHBOARD, 0) + money.unbooked == (
                second + third
            )
            assert db.session.get_one(Pledge, prepared.pledge_id).status == PledgeStatus.REFUNDED
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 2 * ROUNDS
        db.session.remove()
        db.engine.dispose()


@pytest.mark.own_database
def test_one_refund_event_in_three_processes_at_once_is_booked_once(
    fresh_database_url: str,
) -> None:
    """Stripe delivers the same charge.refunded to three workers: one books it, the other
    two find the event stored (or collide with it) and change nothing."""
    pledges = _prepared_database(fresh_database_url, ROUNDS)
    events = [charge_refunded(p, f"evt_same_{p.pledge_id}", p.costs[-1]) for p in pledges]
    outcomes = _race(
        fresh_database_url,
        {f"webhook-{n}": [("webhook", (event,)) for event in events] for n in range(3)},
    )

    app = create_app(_settings(fresh_database_url))
    with app.app_context():
        for number, prepared in enumerate(pledges):
            assert sorted(_round(outcomes, number).values()) == [
                "duplicate",
                "duplicate",
                "refund_recorded",
            ]
            third = prepared.costs[-1]
            money = _money(prepared.pledge_id)
            _check_money(prepared, money)
            assert money.refunds == {RefundSource.STRIPE_DASHBOARD: third}
            assert money.refund_rows == money.refund_entries == 1
            assert money.balance == prepared.paid - third
            assert money.months_left == [add_months(prepared.month, n) for n in range(MONTHS - 1)]
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == ROUNDS
        db.session.remove()
        db.engine.dispose()
