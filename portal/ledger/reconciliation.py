"""Payments against what the bank said and what the ledger booked, month by month (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.ledger.queries import month_end
from portal.payments.models import Payment, PaymentStatus, Refund

STATEMENT_IMPORT = "payment.statement_import"


@dataclass(frozen=True)
class PaymentLine:
    """One payment paid in the month: what it asked, what arrived, how it was confirmed
    (statement, manual, stripe), what the ledger booked as cash in and refunded."""

    payment_id: int
    reference: str
    method: str
    company_id: int
    amount: int
    received: int
    source: str
    booked: int
    refunded: int
    refund_booked: int

    @property
    def matches(self) -> bool:
        return self.booked == self.received and self.refund_booked == self.refunded


@dataclass(frozen=True)
class StatementImport:
    at: datetime
    actor: str
    lines: int
    matched: int


@dataclass(frozen=True)
class Reconciliation:
    month: date
    payments: list[PaymentLine]
    imports: list[StatementImport]

    @property
    def received(self) -> int:
        return sum(line.received for line in self.payments)

    @property
    def booked(self) -> int:
        return sum(line.booked for line in self.payments)

    @property
    def mismatches(self) -> list[PaymentLine]:
        return [line for line in self.payments if not line.matches]


def _bounds(month: date) -> tuple[datetime, datetime]:
    """The month as a half-open UTC interval."""
    following = month_end(month) + timedelta(days=1)
    return (
        datetime.combine(month, time.min, tzinfo=UTC),
        datetime.combine(following, time.min, tzinfo=UTC),
    )


def _cash(kind: EntryKind, column: Any, sign: int) -> Any:
    """Per payment: the cash the ledger moved for entries of the kind."""
    cash = func.sum(case((LedgerLine.account == Account.CASH, sign * LedgerLine.amount), else_=0))
    return (
        select(column.label("payment_id"), cash.label("amount"))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.kind == kind, column.is_not(None))
        .group_by(column)
        .subquery()
    )


def _sources(payment_ids: list[int]) -> dict[int, str]:
    """How each payment was confirmed, from its `payment.paid` audit row."""
    if not payment_ids:
        return {}
    rows = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.after).where(
            AuditEvent.action == "payment.paid",
            AuditEvent.object_type == "payment",
            AuditEvent.object_id.in_([str(i) for i in payment_ids]),
        )
    )
    return {int(object_id): str((after or {}).get("source", "")) for object_id, after in rows}


def _payment_lines(month: date) -> list[PaymentLine]:
    start, end = _bounds(month)
    booked = _cash(EntryKind.PAYMENT_RECEIVED, LedgerLine.payment_id, 1)
    refund_booked = _cash(EntryKind.REFUND, LedgerLine.payment_id, -1)
    refunded = (
        select(Refund.payment_id, func.sum(Refund.amount).label("amount"))
        .group_by(Refund.payment_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Payment.id,
            Payment.reference,
            Payment.method,
            Payment.company_id,
            Payment.amount,
            func.coalesce(Payment.received_amount, Payment.amount),
            func.coalesce(booked.c.amount, 0),
            func.coalesce(refunded.c.amount, 0),
            func.coalesce(refund_booked.c.amount, 0),
        )
        .outerjoin(booked, booked.c.payment_id == Payment.id)
        .outerjoin(refunded, refunded.c.payment_id == Payment.id)
        .outerjoin(refund_booked, refund_booked.c.payment_id == Payment.id)
        .where(
            Payment.status == PaymentStatus.PAID, Payment.paid_at >= start, Payment.paid_at < end
        )
        .order_by(Payment.paid_at, Payment.id)
    ).all()
    sources = _sources([row[0] for row in rows])
    return [
        PaymentLine(
            row[0],
            row[1],
            str(row[2]),
            row[3],
            int(row[4]),
            int(row[5]),
            sources.get(row[0], ""),
            int(row[6]),
            int(row[7]),
            int(row[8]),
        )  # fmt: skip
        for row in rows
    ]


def _imports(month: date) -> list[StatementImport]:
    start, end = _bounds(month)
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == STATEMENT_IMPORT,
            AuditEvent.created_at >= start,
            AuditEvent.created_at < end,
        )
        .order_by(AuditEvent.id)
    )
    return [
        StatementImport(
            e.created_at,
            e.actor_label,
            int((e.after or {}).get("lines", 0)),
            int((e.after or {}).get("matched", 0)),
        )
        for e in events
    ]


def reconcile(month: date) -> Reconciliation:
    """The payments paid in the month with their ledger cash, and the statements imported."""
    return Reconciliation(month, _payment_lines(month), _imports(month))
