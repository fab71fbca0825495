"""Erasing a worker's personal data and recording every export of it (UU 27/2022)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

from portal.audit.services import record_event
from portal.auth.models import User
from portal.auth.permissions import Permission, can
from portal.messages import _m
from portal.privacy.exceptions import AlreadyErased, InvalidReason, NotAllowed
from portal.workers.exceptions import WorkerErased
from portal.workers.models import InactiveReason, Worker, WorkerStatus
from portal.workers.services import change_worker_status, erase_personal_details

MIN_REASON, MAX_REASON = 3, 200
ERASED_PREFIX = "Dihapus"  # stored data, in the register's language


def erasure_pseudonym(worker_id: int) -> str:
    """PJS-XXXX-XXXX, stable for the worker and keyed with a secret, so nobody can work back
    to the worker; its own key context, so it cannot be linked to a sponsor's pseudonyms."""
    key = ("erasure:" + current_app.config["NIK_HASH_KEY"]).encode()
    code = hmac.new(key, str(worker_id).encode(), hashlib.sha256).hexdigest()[:8].upper()
    return f"PJS-{code[:4]}-{code[4:]}"


def erased_name(worker_id: int) -> str:
    return f"{ERASED_PREFIX} {erasure_pseudonym(worker_id)}"


def check_actor(actor: User) -> None:
    """Raises NotAllowed unless the actor's role may export and erase personal data."""
    if not can(actor, Permission.WORKER_PRIVACY):
        raise NotAllowed(_m("this account may not export or erase a worker's personal data"))


def record_export(worker: Worker, actor: User, fmt: str) -> None:
    """Every export is audited by the worker's id, never with the NIK. Raises NotAllowed."""
    check_actor(actor)
    record_event("worker.privacy_export", worker, actor=actor, after={"format": fmt})


def erase_worker(worker: Worker, actor: User, reason: str) -> None:
    """Replace the worker's personal data with a pseudonym, irreversibly.

    The worker becomes inactive (reason: erased) through the one status transition, so rule
    R7 passes their coverage from next month on to the next worker on the list; months that
    have started, claims, remittances and the ledger keep their numbers under the pseudonym.
    Raises NotAllowed, InvalidReason, AlreadyErased.
    """
    check_actor(actor)
    reason = " ".join((reason or "").split())
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise InvalidReason(
            _m("the reason must be %(min)s-%(max)s characters", min=MIN_REASON, max=MAX_REASON)
        )
    if worker.erased_at is not None:
        raise AlreadyErased(_m("the personal data of this worker was erased already"))
    change = None
    if worker.status != WorkerStatus.INACTIVE:
        change = change_worker_status(
            worker, WorkerStatus.INACTIVE, actor, reason, reason=InactiveReason.ERASED
        )
    try:
        erase_personal_details(worker, erased_name(worker.id), change.id if change else None)
    except WorkerErased as error:  # a concurrent erasure got there first
        raise AlreadyErased(*error.args) from error
    # The reason names the request (a letter or ticket), never the person.
    record_event("worker.erase", worker, actor=actor, after={"reason": reason})
