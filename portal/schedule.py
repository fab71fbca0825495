"""Scheduled jobs: each runs once per period, however many workers are running.

Every worker's Huey scheduler enqueues the periodic tasks; a run first claims (job, period) in
`scheduled_run` under a unique key in the same transaction as its work, so a second worker
finds the claim and skips, and a run that fails releases its claim with its rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from huey import crontab
from sqlalchemy import String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.coverage import queries as coverage_queries
from portal.db import UTCDateTime, utcnow
from portal.extensions import Model, db
from portal.jobs import huey, in_app
from portal.mail import queue_mail
from portal.matching.queries import closed_months
from portal.messages import _m, as_text
from portal.payments.models import Payment, PaymentMethod, PaymentStatus
from portal.payments.services import settle_payment, start_bank_transfer
from portal.pledges.models import Pledge
from portal.pledges.pricing import add_months
from portal.pledges.renewals import auto_renewals, offer_renewals
from portal.regions.scope import each_region
from portal.workers.models import ImportJob, ImportState

INVOICE_DAYS = 14  # an unpaid transfer invoice expires after this; the sponsor can start again
CLOSE_REMINDER_DAY = 10  # BPJS TK wants the month's contributions by the 15th of the next
UPLOAD_KEEP = timedelta(hours=24)  # roster files (sealed, with NIKs) of abandoned imports


class ScheduledRun(Model):
    """One run of a scheduled job for one period (a day, a week, an hour)."""

    __tablename__ = "scheduled_run"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_scheduled_run_job_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(20))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def run_once(job: str, period: str, work: Callable[[], Any]) -> bool:
    """Claim the period and do the work in one transaction, region by region; False when
    already claimed."""
    try:
        with db.session.begin_nested():
            db.session.add(ScheduledRun(job=job, period=period))
    except IntegrityError:
        db.session.rollback()
        return False
    try:
        for _region in each_region():
            work()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return True


def _today() -> date:
    return date.today()


# The jobs (each callable with a `today` for tests and the CLI) -------------------------------


def expire_invoices(today: date) -> int:
    """Unpaid transfer invoices older than INVOICE_DAYS expire, and the company is told; a
    transfer arriving later is still recorded (an expired attempt stays payable)."""
    cutoff = datetime.combine(today - timedelta(days=INVOICE_DAYS), time.min, tzinfo=UTC)
    stale = list(
        db.session.scalars(
            select(Payment).where(
                Payment.method == PaymentMethod.BANK_TRANSFER,
                Payment.status == PaymentStatus.PENDING,
                Payment.created_at < cutoff,
            )
        )
    )
    for payment in stale:
        if settle_payment(payment, PaymentStatus.EXPIRED, "schedule"):
            pledge = db.session.get_one(Pledge, payment.pledge_id)
            _tell_users(
                pledge.company_id,
                "PIJAR SEMAR: tagihan kedaluwarsa",
                "emails/invoice_expired.txt",
                pledge=pledge,
                payment=payment,
            )
    return len(stale)


def remind_month_close(today: date) -> bool:
    """From the CLOSE_REMINDER_DAY on, staff hear that last month is still open."""
    last_month = add_months(today.replace(day=1), -1)
    if today.day < CLOSE_REMINDER_DAY or last_month in closed_months():
        return False
    _tell_staff(
        "PIJAR SEMAR: tutup bulan belum dilakukan", "emails/close_reminder.txt", month=last_month
    )
    return True


def forecast_lapses(today: date) -> int:
    """Staff get the pledges whose coverage ends within 60 days (the renewal work ahead)."""
    ending = coverage_queries.ending_pledges(today, 60)
    if ending:
        _tell_staff(
            "PIJAR SEMAR: perlindungan akan berakhir",
            "emails/lapse_forecast.txt",
            ending=ending,
            today=today,
        )
    return len(ending)


def delete_roster_files(now: datetime) -> int:
    """Uploaded rosters and their rejected-rows files hold NIKs, names and phones (sealed): a
    file goes (with its rejected-rows files) once its import has ended or its check failed,
    or after UPLOAD_KEEP when it was only checked and then abandoned. A job that has not
    finished after UPLOAD_KEEP is given up (its worker is gone for good). Returns the files
    deleted."""
    _give_up_stalled_imports(now)
    paths = set(
        db.session.scalars(
            select(ImportJob.stored_path).where(
                ImportJob.stored_path != "",
                (
                    ImportJob.dry_run.is_(False)
                    & ImportJob.state.in_([ImportState.DONE, ImportState.FAILED])
                )
                | (ImportJob.dry_run.is_(True) & (ImportJob.state == ImportState.FAILED))
                | (ImportJob.created_at < now - UPLOAD_KEEP),
            )
        )
    )
    # A file an import still waits for or runs on stays, however old its check is.
    paths -= set(
        db.session.scalars(
            select(ImportJob.stored_path).where(
                ImportJob.state.in_([ImportState.QUEUED, ImportState.RUNNING])
            )
        )
    )
    deleted = 0
    for stored in paths:
        for path in Path(stored).parent.glob(Path(stored).name + "*"):
            path.unlink(missing_ok=True)
            deleted += 1
    if paths:
        db.session.execute(
            update(ImportJob).where(ImportJob.stored_path.in_(paths)).values(stored_path="")
        )
    return deleted


def _give_up_stalled_imports(now: datetime) -> None:
    db.session.execute(
        update(ImportJob)
        .where(
            ImportJob.state.in_([ImportState.QUEUED, ImportState.RUNNING]),
            ImportJob.created_at < now - UPLOAD_KEEP,
        )
        .values(
            state=ImportState.FAILED,
            message=as_text(_m("The job did not finish within a day; upload the file again.")),
            finished_at=now,
        )
    )


def renew_automatically(today: date) -> int:
    """Pledges with yearly automatic renewal get their renewal before the term ends,
    committed, with a transfer invoice e-mailed: the sponsor pays it (or by card from the
    pledge page); nothing is ever charged by itself."""
    made = auto_renewals(today)
    for renewal in made:
        company = db.session.get_one(Company, renewal.company_id)
        actor = db.session.get_one(User, renewal.created_by_id)
        invoice = start_bank_transfer(renewal, company, actor)
        _tell_users(
            renewal.company_id,
            "PIJAR SEMAR: perpanjangan otomatis, tagihan baru",
            "emails/auto_renewal.txt",
            pledge=renewal,
            payment=invoice,
        )
    return len(made)


def _tell_staff(subject: str, template: str, **context: object) -> None:
    for user in db.session.scalars(
        select(User).where(User.role.in_([Role.STAFF, Role.ADMIN]), User.active.is_(True))
    ):
        queue_mail(db.session, user.email, subject, template, user=user, **context)


def _tell_users(company_id: int, subject: str, template: str, **context: object) -> None:
    for user in db.session.scalars(
        select(User).where(User.company_id == company_id, User.active.is_(True))
    ):
        queue_mail(db.session, user.email, subject, template, user=user, **context)


# Huey's schedule ----------------------------------------------------------------------------

JOBS: dict[str, tuple[Callable[[], str], Callable[[], Any]]] = {
    "renewal-offers": (lambda: _today().isoformat(), lambda: offer_renewals(_today())),
    "auto-renewals": (lambda: _today().isoformat(), lambda: renew_automatically(_today())),
    "invoice-expiry": (lambda: _today().isoformat(), lambda: expire_invoices(_today())),
    "close-reminder": (lambda: _today().isoformat(), lambda: remind_month_close(_today())),
    "lapse-forecast": (lambda: f"{_today():%G-W%V}", lambda: forecast_lapses(_today())),
    "roster-cleanup": (lambda: f"{utcnow():%Y-%m-%dT%H}", lambda: delete_roster_files(utcnow())),
}


def run_job(name: str) -> bool:
    """Run a scheduled job for the current period unless it ran already."""
    period, work = JOBS[name]
    return bool(in_app(lambda: run_once(name, period(), work)))


@huey.periodic_task(crontab(minute="5", hour="*"))
def renewal_offers_task() -> bool:
    return run_job("renewal-offers")


@huey.periodic_task(crontab(minute="7", hour="*"))
def auto_renewals_task() -> bool:
    return run_job("auto-renewals")


@huey.periodic_task(crontab(minute="10", hour="*"))
def invoice_expiry_task() -> bool:
    return run_job("invoice-expiry")


@huey.periodic_task(crontab(minute="15", hour="*"))
def close_reminder_task() -> bool:
    return run_job("close-reminder")


@huey.periodic_task(crontab(minute="20", hour="*"))
def lapse_forecast_task() -> bool:
    return run_job("lapse-forecast")


@huey.periodic_task(crontab(minute="*/10"))
def roster_cleanup_task() -> bool:
    return run_job("roster-cleanup")
