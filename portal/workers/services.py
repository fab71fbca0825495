"""Register operations: add a worker, edit details, change status with a reason, record who
looked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.models import Coverage
from portal.db import utcnow
from portal.events import WorkerStatusChanged, emit
from portal.extensions import db
from portal.messages import _m
from portal.workers.eligibility import facts_of, ineligibility_reasons
from portal.workers.elsewhere import active_elsewhere, registered_elsewhere
from portal.workers.exceptions import (
    AlreadyRegistered,
    DetailsDisagreeWithNik,
    IllegalStatusChange,
    RegisteredElsewhere,
    WorkerErased,
)
from portal.workers.models import InactiveReason, Worker, WorkerStatus, WorkerStatusChange
from portal.workers.nik import NikError, check_nik_matches
from portal.workers.pii import PiiCipher, current_cipher, mask_nik

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
ERASED_NIK = "*" * 16  # what an erased worker's NIK columns hold instead of the NIK


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


def register_worker(nik: str, details: WorkerDetails, actor: User) -> Worker:
    """Add one worker to the region's register (status registered; staff check R2 next).

    Raises DetailsDisagreeWithNik, AlreadyRegistered (in this region: edit that worker), and
    RegisteredElsewhere while another region has the NIK active.
    """
    try:
        facts = check_nik_matches(nik, details.birth_date, details.sex == "P")
    except NikError as error:
        raise DetailsDisagreeWithNik(error.message) from error
    cipher = current_cipher()
    nik_hash = cipher.lookup_hash(nik)
    if db.session.scalar(select(Worker.id).where(Worker.nik_hash == nik_hash)) is not None:
        raise AlreadyRegistered(_m("This NIK is already registered."))
    check_not_active_elsewhere(nik_hash)
    worker = Worker(
        nik_hash=nik_hash,
        nik_encrypted=cipher.encrypt(nik),
        nik_masked=mask_nik(nik),
        phone_encrypted=cipher.encrypt(details.phone) if details.phone else None,
        nik_in_semarang=facts.in_region,
        status=WorkerStatus.REGISTERED,
        **{name: getattr(details, name) for name in EDITABLE},
    )
    db.session.add(worker)
    db.session.flush()
    db.session.add(
        WorkerStatusChange(
            worker_id=worker.id, to_status=WorkerStatus.REGISTERED, note="", actor_id=actor.id
        )
    )
    db.session.flush()
    record_event("worker.create", worker, actor=actor)
    return worker


def check_not_active_elsewhere(nik_hash: str) -> None:
    """Raises RegisteredElsewhere while another region has the NIK active."""
    region = active_elsewhere([nik_hash]).get(nik_hash)
    if region is not None:
        raise RegisteredElsewhere(registered_elsewhere(region))


def update_worker(worker: Worker, details: WorkerDetails, actor: User) -> None:
    """Change a worker's details. Raises DetailsDisagreeWithNik (WorkerErased when erased)."""
    if worker.erased_at is not None:
        raise WorkerErased(_m("the personal data of this worker was erased"))
    try:
        check_nik_matches(worker_nik(worker), details.birth_date, details.sex == "P")
    except NikError as error:
        raise DetailsDisagreeWithNik(error.message) from error
    before = {name: _plain(getattr(worker, name)) for name in EDITABLE}
    for name in EDITABLE:
        setattr(worker, name, getattr(details, name))
    worker.phone_encrypted = current_cipher().encrypt(details.phone) if details.phone else None
    db.session.flush()
    after = {name: _plain(getattr(worker, name)) for name in EDITABLE}
    changed = {k for k in EDITABLE if before[k] != after[k]}
    # The audit trail is append-only, so it must not keep what an erasure has to remove:
    # personal fields are recorded as changed, without their values.
    record_event(
        "worker.update",
        worker,
        actor=actor,
        before={k: _audited(k, before[k]) for k in changed},
        after={k: _audited(k, after[k]) for k in changed},
    )


PERSONAL_FIELDS = frozenset({"full_name", "birth_date", "address", "kpj"})


def _audited(name: str, value: object) -> object:
    return "(changed)" if name in PERSONAL_FIELDS else value


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
    if worker.erased_at is not None:
        raise IllegalStatusChange(_m("the personal data of this worker was erased"))
    current = WorkerStatus(worker.status)
    if target not in _ALLOWED[current]:
        raise IllegalStatusChange(
            _m(
                "cannot move a worker from %(current)s to %(target)s",
                current=current.value,
                target=target.value,
            )
        )
    if (target == WorkerStatus.INACTIVE) != (reason is not None):
        raise IllegalStatusChange(_m("a reason is needed exactly when a worker becomes inactive"))
    if current == WorkerStatus.INACTIVE:
        try:
            check_not_active_elsewhere(worker.nik_hash)
        except RegisteredElsewhere as error:
            raise IllegalStatusChange(*error.args) from error
    if target == WorkerStatus.ELIGIBLE:
        month = (today or date.today()).replace(day=1)
        reasons = ineligibility_reasons(facts_of(worker), month, check_status=False)
        if reasons:
            raise IllegalStatusChange(
                _m("the worker does not meet the rules"), [str(r) for r in reasons]
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


def erase_personal_details(worker: Worker, name: str, keep_note_of: int | None = None) -> None:
    """Replace an inactive worker's personal fields by a pseudonym, once (UU 27/2022).

    What coverage, claims and reports count on stays: the id, sex, category, kelurahan, and
    the birth month. Earlier status notes (free text) are emptied, but that of keep_note_of.
    Raises WorkerErased when the worker was erased already, also by a concurrent request.
    """
    erased_at = utcnow()
    claimed = db.session.execute(
        update(Worker)
        .where(Worker.id == worker.id, Worker.erased_at.is_(None))
        .values(erased_at=erased_at),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        raise WorkerErased(_m("the personal data of this worker was erased already"))
    cipher = current_cipher()
    worker.erased_at = erased_at
    worker.full_name = name
    worker.nik_hash = cipher.lookup_hash(f"erased:{worker.id}")  # unique, and no NIK's hash
    # Coverage keeps the person's key (the NIK's hash) to refuse a second funder across
    # regions; the months that stay count under the pseudonym's key instead.
    db.session.execute(
        update(Coverage).where(Coverage.worker_id == worker.id).values(person_key=worker.nik_hash),
        execution_options={"synchronize_session": False},
    )
    worker.nik_encrypted = cipher.encrypt(ERASED_NIK)
    worker.nik_masked = ERASED_NIK
    worker.phone_encrypted = None
    worker.address = ""
    worker.kpj = None
    worker.dtsen_decile = None
    worker.birth_date = _birth_month(worker.birth_date)
    db.session.execute(
        update(WorkerStatusChange)
        .where(
            WorkerStatusChange.worker_id == worker.id,
            WorkerStatusChange.id != (keep_note_of or 0),
        )
        .values(note=""),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()


def _birth_month(born: date) -> date:
    """Ages are counted on the first of a month (R2, the reports' age bands), where a birthday
    on the 1st differs from any later one: the day becomes the 1st or the 15th, and every age
    the portal computes stays the same."""
    return born if born.day == 1 else born.replace(day=15)


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
