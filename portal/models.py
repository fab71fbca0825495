"""Imports every model so the metadata (and Alembic) sees every table."""

from portal.audit.models import AuditEvent
from portal.auth.models import User, UserSession
from portal.certificates.models import Certificate
from portal.claims.models import Claim
from portal.companies.models import Company
from portal.coverage.models import Coverage, MonthClose, Remittance
from portal.events import OutboxEvent
from portal.ledger.models import LedgerEntry, LedgerLine
from portal.matching.models import MatchPlacement, MatchRun, RuleVersion
from portal.payments.models import Document, Payment, Refund, StripeEvent
from portal.pledges.models import Pledge
from portal.reference.models import Category, Kecamatan, Kelurahan, RateSchedule
from portal.regions.models import Region
from portal.reports.models import TjslStatement
from portal.schedule import ScheduledRun
from portal.workers.models import ImportJob, Worker, WorkerStatusChange

__all__ = [
    "AuditEvent",
    "Category",
    "Certificate",
    "Claim",
    "Company",
    "Coverage",
    "Document",
    "ImportJob",
    "Kecamatan",
    "Kelurahan",
    "LedgerEntry",
    "LedgerLine",
    "MatchPlacement",
    "MatchRun",
    "MonthClose",
    "OutboxEvent",
    "Payment",
    "Pledge",
    "RateSchedule",
    "Region",
    "Refund",
    "Remittance",
    "RuleVersion",
    "ScheduledRun",
    "StripeEvent",
    "TjslStatement",
    "User",
    "UserSession",
    "Worker",
    "WorkerStatusChange",
]
