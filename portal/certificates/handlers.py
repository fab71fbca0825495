"""Certificates follow the pledge's events: issued when coverage starts and when the term
ends, revoked (and re-issued for what is left) when money goes back."""

from __future__ import annotations

from typing import Any

from portal.auth.models import User
from portal.certificates.models import CertificateKind
from portal.certificates.services import issue_certificate, revoke_certificates
from portal.events import PledgeActivated, PledgeCompleted, PledgeCoverageCut, handles
from portal.extensions import db
from portal.pledges.models import Pledge


def _subject(payload: dict[str, Any]) -> tuple[Pledge, User | None]:
    pledge = db.session.get_one(Pledge, int(payload["pledge_id"]))
    actor_id = payload.get("actor_id")
    return pledge, db.session.get(User, int(actor_id)) if actor_id else None


@handles(PledgeActivated.kind)
def certify_activated(payload: dict[str, Any]) -> None:
    pledge, actor = _subject(payload)
    issue_certificate(pledge, CertificateKind.ACTIVE, actor)


@handles(PledgeCompleted.kind)
def certify_completed(payload: dict[str, Any]) -> None:
    pledge, actor = _subject(payload)
    issue_certificate(pledge, CertificateKind.COMPLETED, actor)


@handles(PledgeCoverageCut.kind)
def recertify_cut(payload: dict[str, Any]) -> None:
    pledge, actor = _subject(payload)
    revoke_certificates(pledge, f"refund: {payload['reason']}", actor)
    if not payload["ended"]:
        issue_certificate(pledge, CertificateKind.ACTIVE, actor)
