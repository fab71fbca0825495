"""Imports every model so the metadata (and Alembic) sees every table."""

from portal.audit.models import AuditEvent
from portal.auth.models import User, UserSession
from portal.companies.models import Company
from portal.coverage.models import Coverage
from portal.reference.models import Category, Kecamatan, Kelurahan, RateSchedule
from portal.workers.models import Worker, WorkerStatusChange

__all__ = [
    "AuditEvent", "Category", "Company", "Coverage", "Kecamatan", "Kelurahan", "RateSchedule",
    "User", "UserSession", "Worker", "WorkerStatusChange",
]
