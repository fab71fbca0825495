"""Issue, revoke and verify certificates. The payload is signed once and stored as signed."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.certificates import signing
from portal.certificates.exceptions import NotCertifiable
from portal.certificates.models import Certificate, CertificateKind
from portal.companies.models import Company
from portal.coverage.models import Coverage
from portal.db import utcnow
from portal.extensions import db
from portal.mail import queue_mail
from portal.messages import _m
from portal.payments.models import Payment, PaymentStatus, Refund
from portal.pledges.models import Pledge
from portal.regions.models import Region
from portal.regions.scope import all_regions

ISSUER = "Pemerintah Kota Semarang · PIJAR SEMAR"


@dataclass(frozen=True)
class Verdict:
    """What the verify page and the CLI say about a certificate."""

    status: str  # valid | superseded | revoked | invalid | unknown
    facts: dict[str, Any] | None = None
    certificate: Certificate | None = None


def signing_key():  # type: ignore[no-untyped-def]
    return signing.private_key(current_app.config.get("CERTIFICATE_SIGNING_KEY"))


def public_key():  # type: ignore[no-untyped-def]
    return signing_key().public_key()


def new_serial(year: int) -> str:
    """Not guessable: serials cannot be enumerated on the public verify page."""
    return f"PJS-{year}-{secrets.token_hex(5).upper()}"


def issue_certificate(pledge: Pledge, kind: CertificateKind, actor: User | None) -> Certificate:
    """Certify what the pledge covers now; a completion certificate supersedes the earlier
    ones. Raises NotCertifiable when the pledge has no coverage."""
    if pledge.coverage_start is None or pledge.last_month is None:
        raise NotCertifiable(_m("Pledge #%(id)s has no coverage to certify.", id=pledge.id))
    workers, worker_months, funded = db.session.execute(
        select(
            func.count(func.distinct(Coverage.worker_id)),
            func.count(Coverage.id),
            func.coalesce(func.sum(Coverage.amount), 0),
        ).where(Coverage.pledge_id == pledge.id)
    ).one()
    paid, refunded = _money_of(pledge.id)
    company = db.session.get_one(Company, pledge.company_id)
    region = db.session.get_one(Region, pledge.region_code)
    key = signing_key()
    issued_at = utcnow()
    serial = new_serial(issued_at.year)
    payload = {
        "v": 1,
        "serial": serial,
        "kind": str(kind),
        "issuer": ISSUER,
        "company": company.legal_name,
        "nib": company.nib,
        "pledge": pledge.id,
        "region": region.name,
        "regulation": region.regulation,
        "period_from": f"{pledge.coverage_start:%Y-%m}",
        "period_to": f"{pledge.last_month:%Y-%m}",
        "workers": int(workers),
        # The amount is what the certified worker-months cost; paid and refunded stand apart.
        "worker_months": int(worker_months),
        "amount": int(funded),
        "paid": paid,
        "refunded": refunded,
        "issued_at": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "key_id": signing.key_id(key.public_key()),
    }
    text = signing.canonical(payload)
    certificate = Certificate(
        serial=serial,
        kind=kind,
        pledge_id=pledge.id,
        company_id=pledge.company_id,
        payload=text,
        signature=signing.sign(key, text),
        key_id=payload["key_id"],
        issued_at=issued_at,
    )
    db.session.add(certificate)
    db.session.flush()
    if kind == CertificateKind.COMPLETED:
        db.session.execute(
            update(Certificate)
            .where(
                Certificate.pledge_id == pledge.id,
                Certificate.id != certificate.id,
                Certificate.superseded_by.is_(None),
            )
            .values(superseded_by=serial),
            execution_options={"synchronize_session": False},
        )
    record_event(
        "certificate.issue",
        certificate,
        actor=actor,
        company_id=pledge.company_id,
        after={"serial": serial, "kind": str(kind), "pledge_id": pledge.id},
    )
    _mail_issued(certificate)
    return certificate


def _money_of(pledge_id: int) -> tuple[int, int]:
    """Rupiah received for the pledge and returned from it (read from the payment tables)."""
    paid = db.session.scalar(
        select(
            func.coalesce(func.sum(func.coalesce(Payment.received_amount, Payment.amount)), 0)
        ).where(Payment.pledge_id == pledge_id, Payment.status == PaymentStatus.PAID)
    )
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.pledge_id == pledge_id)
    )
    return int(paid or 0), int(refunded or 0)


def _mail_issued(certificate: Certificate) -> None:
    """Tell the company's active users, with the download and verify links (after commit)."""
    users = db.session.execute(
        select(User.email, User.full_name).where(
            User.company_id == certificate.company_id, User.active.is_(True)
        )
    ).all()
    for user in users:
        queue_mail(
            db.session,
            user.email,
            f"PIJAR SEMAR: sertifikat {certificate.serial}",
            "emails/certificate_issued.txt",
            certificate=certificate,
            user=user,
        )


def revoke_certificates(pledge: Pledge, reason: str, actor: User | None) -> int:
    """Revoke every certificate of the pledge not revoked yet (for example after a refund)."""
    found = list(
        db.session.scalars(
            select(Certificate).where(
                Certificate.pledge_id == pledge.id, Certificate.revoked_at.is_(None)
            )
        )
    )
    now = utcnow()
    for certificate in found:
        certificate.revoked_at = now
        certificate.revoke_reason = reason.strip()[:500]
        record_event(
            "certificate.revoke",
            certificate,
            actor=actor,
            company_id=pledge.company_id,
            after={"serial": certificate.serial, "reason": certificate.revoke_reason},
        )
    db.session.flush()
    return len(found)


_SERIAL = re.compile(r"PJS([0-9]{4})([0-9A-F]{10})")


def normalise_serial(typed: str) -> str:
    """A serial as people type it ('pjs 2026 ab12cd34ef', 'PJS–2026–AB12…') as it is issued
    ('PJS-2026-AB12CD34EF'); anything else comes back cleaned of spaces and dashes."""
    compact = re.sub(r"[^0-9A-Za-z]", "", typed or "").upper()[:64]
    found = _SERIAL.fullmatch(compact)
    return f"PJS-{found.group(1)}-{found.group(2)}" if found else compact


def find(serial: str) -> Certificate | None:
    """The certificate of a serial, in whichever region issued it (serials are national)."""
    serial = normalise_serial(serial)
    if not serial or len(serial) > 32:
        return None
    with all_regions():
        return db.session.scalar(select(Certificate).where(Certificate.serial == serial))


def public_revoke_reason(certificate: Certificate) -> str:
    """What the public verify page says about a revocation: a category, never staff's note."""
    if (certificate.revoke_reason or "").startswith("refund"):
        return "refunded"
    return "withdrawn"


def verdict_for(serial: str) -> Verdict:
    """The stored certificate's signature is checked again, so a row altered in the database
    reads as invalid, not as valid."""
    certificate = find(serial)
    if certificate is None:
        return Verdict("unknown")
    if not signing.verify(public_key(), certificate.payload, certificate.signature):
        return Verdict("invalid", certificate=certificate)
    facts = json.loads(certificate.payload)
    if certificate.revoked_at is not None:
        return Verdict("revoked", facts, certificate)
    if certificate.superseded_by:
        return Verdict("superseded", facts, certificate)
    return Verdict("valid", facts, certificate)


def verdict_offline(payload_text: str, signature: str, key) -> Verdict:  # type: ignore[no-untyped-def]
    """Signature only, with a published public key; revocation needs the portal."""
    if not signing.verify(key, payload_text, signature):
        return Verdict("invalid")
    return Verdict("valid", json.loads(payload_text))


def json_payload(certificate: Certificate) -> dict[str, Any]:
    return dict(json.loads(certificate.payload))


def pledge_certificates(pledge_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate).where(Certificate.pledge_id == pledge_id).order_by(Certificate.id)
        )
    )
