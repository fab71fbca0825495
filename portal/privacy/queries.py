"""Read-only selects: everything the portal holds about one worker, and what is still due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.claims.models import Claim
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder, Remittance, RemittanceFunder
from portal.db import utcnow
from portal.extensions import db
from portal.pledges.models import Pledge
from portal.workers.models import Worker, WorkerStatusChange
from portal.workers.pii import current_cipher

# Audit rows that name a worker in their details rather than as their object.
_BY_WORKER_ID = ("claim.record", "coverage.release")
_HANDED_OVER = "coverage.pass_on"
_REMITTED_AS = {
    Funder.APBD: RemittanceFunder.APBD,
    Funder.DBHCHT: RemittanceFunder.DBHCHT,
    Funder.PLEDGE: RemittanceFunder.CSR,
}


@dataclass(frozen=True)
class CoverageLine:
    month: date
    funder: str
    pledge_id: int | None
    company: str | None  # the sponsor, for a pledge
    amount: int
    rule_version: int


@dataclass(frozen=True)
class ClaimLine:
    event_date: date
    month: date
    kind: str
    amount: int
    funder: str
    pledge_id: int | None
    company: str | None
    story: str
    recorded_at: datetime


@dataclass(frozen=True)
class EventLine:
    """An audit row about the worker, with nothing about anybody else: the actor only by role,
    no IP address, and no other worker's id."""

    at: datetime
    action: str
    actor_role: str | None  # None: the portal itself (a job or a command)
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class WorkerRecord:
    """Everything the portal holds about one worker, NIK and phone decrypted."""

    worker: Worker
    nik: str
    phone: str | None
    history: list[WorkerStatusChange]
    coverage: list[CoverageLine]
    claims: list[ClaimLine]
    events: list[EventLine]
    generated_at: datetime


def worker_record(worker: Worker) -> WorkerRecord:
    cipher = current_cipher()
    return WorkerRecord(
        worker=worker,
        nik=cipher.decrypt(worker.nik_encrypted),
        phone=cipher.decrypt(worker.phone_encrypted) if worker.phone_encrypted else None,
        history=list(
            db.session.scalars(
                select(WorkerStatusChange)
                .where(WorkerStatusChange.worker_id == worker.id)
                .order_by(WorkerStatusChange.id)
            )
        ),
        coverage=coverage_lines(worker.id),
        claims=claim_lines(worker.id),
        events=event_lines(worker.id),
        generated_at=utcnow(),
    )


def coverage_lines(worker_id: int) -> list[CoverageLine]:
    rows = db.session.execute(
        select(Coverage, Company.legal_name)
        .outerjoin(Pledge, Pledge.id == Coverage.pledge_id)
        .outerjoin(Company, Company.id == Pledge.company_id)
        .where(Coverage.worker_id == worker_id)
        .order_by(Coverage.month)
    ).tuples()
    return [
        CoverageLine(c.month, c.funder, c.pledge_id, company, c.amount, c.rule_version)
        for c, company in rows
    ]


def claim_lines(worker_id: int) -> list[ClaimLine]:
    rows = db.session.execute(
        select(Claim, Company.legal_name)
        .outerjoin(Pledge, Pledge.id == Claim.pledge_id)
        .outerjoin(Company, Company.id == Pledge.company_id)
        .where(Claim.worker_id == worker_id)
        .order_by(Claim.event_date, Claim.id)
    ).tuples()
    return [
        ClaimLine(
            c.event_date,
            c.month,
            c.kind,
            c.amount,
            c.funder,
            c.pledge_id,
            company,
            c.story,
            c.created_at,
        )
        for c, company in rows
    ]


def event_lines(worker_id: int) -> list[EventLine]:
    """Audit rows whose object is the worker, or whose details name the worker."""
    after = AuditEvent.after
    about = or_(
        and_(AuditEvent.object_type == "worker", AuditEvent.object_id == str(worker_id)),
        and_(
            AuditEvent.action.in_(_BY_WORKER_ID),
            after["worker_id"].as_integer() == worker_id,
        ),
        and_(
            AuditEvent.action == _HANDED_OVER,
            or_(
                after["from_worker_id"].as_integer() == worker_id,
                after["to_worker_id"].as_integer() == worker_id,
            ),
        ),
    )
    rows = db.session.execute(
        select(AuditEvent, User.role)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(about)
        .order_by(AuditEvent.id)
    ).tuples()
    return [
        EventLine(
            event.created_at,
            event.action,
            role,
            _own(event.before, worker_id),
            _own(event.after, worker_id),
        )
        for event, role in rows
    ]


def _own(details: dict[str, Any] | None, worker_id: int) -> dict[str, Any] | None:
    """The details without other workers' ids; a hand-over says only which way it went."""
    if details is None:
        return None
    kept = {key: value for key, value in details.items() if not key.endswith("worker_id")}
    if "from_worker_id" in details:
        kept["direction"] = "from" if details["from_worker_id"] == worker_id else "to"
    return kept


def unremitted_months(worker_id: int, today: date | None = None) -> list[date]:
    """Months begun whose coverage of the worker has not been remitted to BPJS TK yet: their
    file would carry the pseudonym instead of the NIK after an erasure."""
    this_month = (today or date.today()).replace(day=1)
    covered = db.session.execute(
        select(Coverage.month, Coverage.funder).where(
            Coverage.worker_id == worker_id, Coverage.month <= this_month
        )
    ).all()
    remitted = set(
        db.session.execute(
            select(Remittance.month, Remittance.funder).where(
                Remittance.month.in_({month for month, _ in covered})
            )
        ).tuples()
    )
    return sorted(
        {
            month
            for month, funder in covered
            if (month, _REMITTED_AS[Funder(funder)]) not in remitted
        }
    )


def later_months(worker_id: int, today: date | None = None) -> int:
    """Coverage months after this one, which rule R7 passes on once the worker is inactive."""
    this_month = (today or date.today()).replace(day=1)
    return int(
        db.session.scalar(
            select(func.count(Coverage.id)).where(
                Coverage.worker_id == worker_id, Coverage.month > this_month
            )
        )
        or 0
    )
