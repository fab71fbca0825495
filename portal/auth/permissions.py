"""Permissions named resource:action, the role map, and the one `can` check."""

from __future__ import annotations

import enum
from typing import Any

from portal.auth.models import Role
from portal.companies.models import Company


class Permission(enum.StrEnum):
    COMPANY_VIEW_OWN = "company:view_own"
    COMPANY_MANAGE_MEMBERS = "company:manage_members"
    COMPANY_EDIT_OWN = "company:edit_own"  # correct and resubmit a rejected registration
    COMPANY_REVIEW = "company:review"
    COMPANY_LIST = "company:list"
    STAFF_MANAGE = "staff:manage"
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"  # audit log exports and a closed month's evidence pack
    LEDGER_READ = "ledger:read"
    REFERENCE_READ = "reference:read"
    REFERENCE_EDIT = "reference:edit"
    DASHBOARD_CITY = "dashboard:city"
    WORKER_READ = "worker:read"
    WORKER_VIEW_PII = "worker:view_pii"
    WORKER_EDIT = "worker:edit"
    WORKER_IMPORT = "worker:import"
    WORKER_EXPORT = "worker:export"
    WORKER_PRIVACY = "worker:privacy"  # UU 27/2022: export or erase one worker's data
    PLEDGE_VIEW = "pledge:view"
    PLEDGE_MANAGE = "pledge:manage"
    PLEDGE_APPROVE = "pledge:approve"  # owners: approve pledges and set the approval rule
    PLEDGE_LIST = "pledge:list"
    QUEUE_READ = "queue:read"  # staff and admins: the queue of what waits for a person
    PAYMENT_READ = "payment:read"  # the transfer list, without its actions
    PAYMENT_MANAGE = "payment:manage"
    MATCH_READ = "match:read"
    MATCH_RUN = "match:run"  # propose, approve, discard
    RULES_READ = "rules:read"
    RULES_EDIT = "rules:edit"
    COVERAGE_READ = "coverage:read"
    COVERAGE_MANAGE = "coverage:manage"  # close months, remittance, city participant import
    CLAIM_READ = "claim:read"
    CLAIM_MANAGE = "claim:manage"  # record and import JKK/JKM claims
    JOBS_MANAGE = "jobs:manage"  # see the job queue, retry failed jobs
    REGION_EDIT = "region:edit"  # the region's scheme: regulation, bank account, sender
    NATIONAL_READ = "national:read"  # every region's figures side by side: counts only
    REGION_MANAGE = "region:manage"  # add a kota or kabupaten to the installation


_SPONSOR = {Permission.COMPANY_VIEW_OWN, Permission.PLEDGE_VIEW, Permission.PLEDGE_MANAGE}
_REGISTER = {
    Permission.WORKER_READ,
    Permission.WORKER_VIEW_PII,
    Permission.WORKER_EDIT,
    Permission.WORKER_IMPORT,
    Permission.WORKER_EXPORT,
    Permission.WORKER_PRIVACY,
}
_MATCHING = {
    Permission.MATCH_READ,
    Permission.MATCH_RUN,
    Permission.RULES_READ,
    Permission.COVERAGE_READ,
    Permission.COVERAGE_MANAGE,
}
_CLAIMS = {Permission.CLAIM_READ, Permission.CLAIM_MANAGE}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SPONSOR_MEMBER: frozenset(_SPONSOR),
    Role.SPONSOR_OWNER: frozenset(
        _SPONSOR
        | {
            Permission.COMPANY_MANAGE_MEMBERS,
            Permission.COMPANY_EDIT_OWN,
            Permission.PLEDGE_APPROVE,
        }
    ),
    Role.STAFF: frozenset(
        _REGISTER
        | _MATCHING
        | _CLAIMS
        | {
            Permission.COMPANY_REVIEW,
            Permission.COMPANY_LIST,
            Permission.REFERENCE_READ,
            Permission.DASHBOARD_CITY,
            Permission.PLEDGE_LIST,
            Permission.PAYMENT_READ,
            Permission.PAYMENT_MANAGE,
            Permission.QUEUE_READ,
        }
    ),
    Role.ADMIN: frozenset(
        _REGISTER
        | _MATCHING
        | _CLAIMS
        | {Permission.RULES_EDIT, Permission.QUEUE_READ}
        | {
            Permission.COMPANY_REVIEW,
            Permission.COMPANY_LIST,
            Permission.STAFF_MANAGE,
            Permission.AUDIT_READ,
            Permission.AUDIT_EXPORT,
            Permission.LEDGER_READ,
            Permission.REFERENCE_READ,
            Permission.REFERENCE_EDIT,
            Permission.DASHBOARD_CITY,
            Permission.PLEDGE_LIST,
            Permission.PAYMENT_READ,
            Permission.PAYMENT_MANAGE,
            Permission.JOBS_MANAGE,
            Permission.REGION_EDIT,
        }
    ),
    # Auditors read the register with NIKs masked and without phone numbers.
    Role.AUDITOR: frozenset(
        {
            Permission.AUDIT_READ,
            Permission.AUDIT_EXPORT,
            Permission.LEDGER_READ,
            Permission.PAYMENT_READ,
            Permission.COMPANY_LIST,
            Permission.REFERENCE_READ,
            Permission.DASHBOARD_CITY,
            Permission.WORKER_READ,
            Permission.PLEDGE_LIST,
            Permission.MATCH_READ,
            Permission.RULES_READ,
            Permission.COVERAGE_READ,
            Permission.CLAIM_READ,
        }
    ),
    # The programme's administrator reads counts across regions and adds regions; never a
    # worker, a company's own pages or a region's money in detail.
    Role.NATIONAL: frozenset({Permission.NATIONAL_READ, Permission.REGION_MANAGE}),
}


def can(user: Any, permission: Permission, obj: Any = None) -> bool:
    """True when the user's role grants the permission and, for company-owned objects,
    the object belongs to the user's company (sponsors only ever see their own)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    role = Role(user.role)
    if permission not in ROLE_PERMISSIONS[role]:
        return False
    if obj is not None and role.is_sponsor:
        return _owning_company_id(obj) == user.company_id
    return True


def _owning_company_id(obj: Any) -> int | None:
    if isinstance(obj, Company):
        return obj.id
    company_id = getattr(obj, "company_id", None)
    return int(company_id) if company_id is not None else None
