"""Register operations: edit details, change status with a reason, record who looked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.events import WorkerStatusChanged, emit
from portal.extensions import db
from portal.workers.eligibility import facts_of, ineligibility_reasons
from portal.workers.exceptions import DetailsDisagreeWithNik, IllegalStatusChange
from portal.workers.models import InactiveReason, Worker, WorkerStatus, WorkerStatusChange
from portal.workers.nik import NikError, check_nik_matches
from portal.workers.pii import PiiCipher, current_cipher

_ALLOWED = {
    WorkerStatus.REGISTERED: {WorkerStatus.ELIGIBLE, WorkerStatus.INACTIVE},
    WorkerStatus.ELIGIBLE: {WorkerStatus.REGISTERED, WorkerStatus.INACTIVE},
    WorkerStatus.INACTIVE: {WorkerStatus.REGISTERED},
}
EDITABLE = (
    "full_name",
    "birth_date",
    "sex",
    "category_id",
    "kelurahan_code",
    "address",
    "kpj",
    "dtsen_decile",
    "domicile_flag",
    "other_membership",
)


@dataclass(frozen=True)
class WorkerDetails:
    full_name: str
    birth_date: date
    sex: str
    category_id: int
    kelurahan_code: str
    address: str
    phone: str | None
    kpj: str | None
    dtsen_decile: int | None
    domicile_flag: bool
    other_membership: bool


def worker_nik(worker: Worker) -> str:
    return current_cipher().decrypt(worker.nik_encrypted)


def worker_phone(worker: Worker) -> str | None:
    return current_cipher().decrypt(worker.phone_encrypted) if worker.phone_encrypted else None


def record_pii_view(worker: Worker, actor: User) -> None:
    """Every look at a worker's personal data is audited (without the NIK itself)."""
    record_event("worker.view_pii", worker, actor=actor)


def update_worker(worker: Worker, details: WorkerDetails, actor: User) -> None:
    """Change a worker's details. Raises DetailsDisagreeWithNik."""
    try:
        check_nik_matches(worker_nik(worker), details.birth_date, details.sex == "P")
    except NikError as error:
        raise DetailsDisagreeWithNik(str(error)) from error
    before = {name: _plain(getattr(worker, name)) for name in EDITABLE}
    for name in EDITABLE:
        setattr(worker, name, getattr(details, name))
    worker.phone_encrypted = current_cipher().encrypt(details.phone) if details.phone else None
    db.session.flush()
    after = {name: _plain(getattr(worker, name)) for name in EDITABLE}
    changed = {k for k in EDITABLE if before[k] != after[k]}
    record_event(
        "worker.update",
        worker,
        actor=actor,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def change_worker_status(
    worker: Worker,
    target: WorkerStatus,
    actor: User,
    note: str,
    reason: InactiveReason | None = None,
    today: date | None = None,
) -> WorkerStatusChange:
    """The one place a worker's status changes. Raises IllegalStatusChange."""
    current = WorkerStatus(worker.status)
    if target not in _ALLOWED[current]:
        raise IllegalStatusChange(f"cannot move a worker from {current} to {target}")
    if (target == WorkerStatus.INACTIVE) != (reason is not None):
        raise IllegalStatusChange("a reason is needed exactly when a worker becomes inactive")
    if target == WorkerStatus.ELIGIBLE:
        month = (today or date.today()).replace(day=1)
        reasons = ineligibility_reasons(facts_of(worker), month, check_status=False)
        if reasons:
            raise IllegalStatusChange(
                "the worker does not meet the rules", [str(r) for r in reasons]
            )
    change = WorkerStatusChange(
        worker_id=worker.id,
        from_status=current,
        to_status=target,
        reason=reason,
        note=note.strip(),
        actor_id=actor.id,
    )
    worker.status = target
    worker.inactive_reason = reason
    db.session.add(change)
    db.session.flush()
    record_event(
        "worker.status",
        worker,
        actor=actor,
        before={"status": current.value},
        after={"status": target.value, "reason": reason, "note": note.strip()[:200]},
    )
    emit(db.session, WorkerStatusChanged(worker.id, target.value, actor.id))
    return change


def rotate_worker_keys(batch: int = 2_000) -> int:
    """Re-encrypt every NIK and phone still sealed with an older key; returns rows changed."""
    cipher = current_cipher()
    changed, last_id = 0, 0
    while rows := db.session.execute(
        select(Worker.id, Worker.nik_encrypted, Worker.phone_encrypted)
        .where(Worker.id > last_id)
        .order_by(Worker.id)
        .limit(batch)
    ).all():
        last_id = rows[-1].id
        updates = [_reencrypted(cipher, row) for row in rows if _stale(cipher, row)]
        if updates:
            db.session.execute(update(Worker), updates)
            changed += len(updates)
    record_event("worker.rotate_keys", after={"rows": changed, "key": cipher.current})
    return changed


def _stale(cipher: PiiCipher, row: Any) -> bool:
    phone = row.phone_encrypted
    return cipher.needs_rotation(row.nik_encrypted) or bool(phone and cipher.needs_rotation(phone))


def _reencrypted(cipher: PiiCipher, row: Any) -> dict[str, object]:
    phone = cipher.decrypt(row.phone_encrypted) if row.phone_encrypted else None
    return {
        "id": row.id,
        "nik_encrypted": cipher.encrypt(cipher.decrypt(row.nik_encrypted)),
        "phone_encrypted": cipher.encrypt(phone) if phone else None,
    }
