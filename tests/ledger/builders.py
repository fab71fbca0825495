"""Pledge, payment and refund rows for ledger tests; they flush, never commit."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import select

from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.db import utcnow
from portal.extensions import db
from portal.payments.models import Payment, PaymentMethod, PaymentStatus, Refund
from portal.pledges.models import Pledge, PledgeStatus
from tests import factories

_seq = itertools.count(1)


def _creator(company: Company) -> User:
    existing = db.session.scalar(select(User).where(User.company_id == company.id))
    return existing or factories.user(Role.SPONSOR_OWNER, company=company)


def pledge(
    company: Company, price_total: int = 1_008_000, status: PledgeStatus = PledgeStatus.PAID
) -> Pledge:
    row = Pledge(
        company_id=company.id,
        created_by_id=_creator(company).id,
        status=status,
        workers=5,
        months=12,
        start_month=date(2026, 1, 1),
        price_total=price_total,
    )
    db.session.add(row)
    db.session.flush()
    return row


def payment(
    company: Company,
    amount: int = 1_008_000,
    status: PaymentStatus = PaymentStatus.PAID,
    for_pledge: Pledge | None = None,
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER,
) -> Payment:
    """A payment of its own pledge (a pledge is paid by one payment) unless one is given."""
    n = next(_seq)
    for_pledge = for_pledge or pledge(company, price_total=amount)
    row = Payment(
        pledge_id=for_pledge.id,
        company_id=company.id,
        method=method,
        status=status,
        amount=amount,
        reference=f"PSL-{n:06d}",
        idempotency_key=f"ledger-test-{n}",
        paid_at=utcnow() if status == PaymentStatus.PAID else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def refund(of: Payment, amount: int, reason: str = "unused months") -> Refund:
    row = Refund(
        payment_id=of.id,
        pledge_id=of.pledge_id,
        company_id=of.company_id,
        amount=amount,
        worker_months=1,
        reason=reason,
    )
    db.session.add(row)
    db.session.flush()
    return row
