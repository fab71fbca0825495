"""Paid pledges and covered workers for matching tests; they flush, never commit."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import select

from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.db import utcnow
from portal.extensions import db
from portal.payments.booking import book_payment
from portal.payments.models import Payment, PaymentMethod, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import price_pledge, total
from tests import factories

_seq = itertools.count(1)


def sponsor(name: str = "PT Penyandang Dana") -> Company:
    company = factories.company(legal_name=f"{name} {next(_seq)}", verified=True)
    factories.user(Role.SPONSOR_OWNER, company=company)
    return company


def paid_pledge(
    company: Company,
    workers: int,
    months: int,
    start: date,
    categories: tuple[str, ...] = (),
    kecamatan: tuple[str, ...] = (),
    paid_on: date | None = None,
) -> Pledge:
    """A pledge priced from the rate schedule, paid by bank transfer and booked in the ledger."""
    owner = db.session.scalar(select(User).where(User.company_id == company.id))
    lines = price_pledge(workers, months, start)
    pledge = Pledge(
        company_id=company.id,
        created_by_id=owner.id,
        status=PledgeStatus.PAID,
        workers=workers,
        months=months,
        start_month=start,
        target_categories=sorted(categories),
        target_kecamatan=sorted(kecamatan),
        price_breakdown=[line.as_json() for line in lines],
        price_total=total(lines),
    )
    db.session.add(pledge)
    db.session.flush()
    n = next(_seq)
    paid_at = utcnow()
    if paid_on is not None:
        paid_at = paid_at.replace(year=paid_on.year, month=paid_on.month, day=paid_on.day)
    payment = Payment(
        pledge_id=pledge.id,
        company_id=company.id,
        method=PaymentMethod.BANK_TRANSFER,
        status=PaymentStatus.PAID,
        amount=pledge.price_total,
        received_amount=pledge.price_total,
        reference=f"PJS-MATCH-{n:06d}",
        idempotency_key=f"match-test-{n}",
        paid_at=paid_at,
    )
    db.session.add(payment)
    db.session.flush()
    book_payment(payment)
    return pledge


def city_coverage(worker_id: int, month: date, funder: Funder = Funder.APBD) -> Coverage:
    row = Coverage(worker_id=worker_id, month=month, funder=funder, amount=16_800)
    db.session.add(row)
    db.session.flush()
    return row


def rules(actor: User | None = None, **changes: object) -> int:
    """A new rule version with `changes` over the current one (no city quota by default in
    tests that only look at pledges: pass city_quotas={} )."""
    from portal.matching.models import RuleVersion
    from portal.matching.rules import current_rules

    parameters = {**current_rules().parameters(), **changes}
    version = RuleVersion(
        parameters=parameters, note="test", created_by_id=actor.id if actor else None
    )
    db.session.add(version)
    db.session.flush()
    return version.id
