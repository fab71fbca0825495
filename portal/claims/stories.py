"""Claim stories for sponsors' reports: staff write them anonymised, then approve them.

A story reaches a sponsor only once approved, only for claims of workers its own pledges
covered, and only as its text with the benefit and year (claims/queries.approved_stories).
"""

from __future__ import annotations

import re

from portal.audit.services import record_event
from portal.auth.models import User
from portal.claims.exceptions import InvalidClaim, StoryNotAnonymous
from portal.claims.models import MAX_STORY, Claim
from portal.claims.services import check_actor
from portal.db import utcnow
from portal.extensions import db
from portal.messages import _m
from portal.pledges.models import Pledge

# Eight or more digits, perhaps split by spaces or hyphens: a NIK, a KPJ or a phone number.
# Amounts written with thousands dots (Rp42.000.000) do not match.
_LONG_NUMBER = re.compile(r"(?<![\d.,])\+?\d(?:[ -]?\d){7,}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_WORD = re.compile(r"\w+")
# Parts of Indonesian names that say nothing about who someone is on their own.
_NAME_PARTICLES = frozenset({"bin", "binti", "bt", "bte", "dan", "alm", "almh"})


def identifying_parts(text: str, full_name: str) -> tuple[str, ...]:
    """What in a story may identify the worker: "name", "number", "email" (empty: nothing)."""
    found = []
    words = {word.casefold() for word in _WORD.findall(text)}
    name = {part.casefold() for part in _WORD.findall(full_name) if len(part) >= 3}
    if words & (name - _NAME_PARTICLES):
        found.append("name")
    if _LONG_NUMBER.search(text):
        found.append("number")
    if _EMAIL.search(text):
        found.append("email")
    return tuple(found)


def update_story(claim: Claim, text: str, actor: User) -> bool:
    """Set a claim's story; a changed text takes any approval back. True when it changed.

    Raises NotAllowed, InvalidClaim (longer than MAX_STORY).
    """
    check_actor(actor)
    text = (text or "").strip()
    if len(text) > MAX_STORY:
        raise InvalidClaim(
            _m("the story is longer than %(max)s characters", max=MAX_STORY), "story"
        )
    if text == claim.story:
        return False
    before = _state(claim)
    claim.story = text
    claim.story_approved_at = None
    claim.story_approved_by_id = None
    db.session.flush()
    _audit("claim.story_update", claim, actor, before)
    return True


def approve_story(claim: Claim, actor: User) -> None:
    """Let sponsors whose pledge covered the worker read the story in their reports.

    Raises NotAllowed, InvalidClaim (no story), StoryNotAnonymous.
    """
    check_actor(actor)
    if not claim.story:
        raise InvalidClaim(_m("there is no story to approve"), "story")
    found = identifying_parts(claim.story, claim.worker.full_name)
    if found:
        raise StoryNotAnonymous(found)
    if claim.story_approved:
        return
    before = _state(claim)
    claim.story_approved_at = utcnow()
    claim.story_approved_by_id = actor.id
    db.session.flush()
    _audit("claim.story_approve", claim, actor, before)


def withdraw_story(claim: Claim, actor: User) -> None:
    """Take the approval back: the story leaves sponsors' reports. Raises NotAllowed."""
    check_actor(actor)
    if not claim.story_approved:
        return
    before = _state(claim)
    claim.story_approved_at = None
    claim.story_approved_by_id = None
    db.session.flush()
    _audit("claim.story_withdraw", claim, actor, before)


def _state(claim: Claim) -> dict[str, object]:
    # The length, never the text: the company's audit trail must not carry the story.
    return {"story_chars": len(claim.story), "approved": claim.story_approved}


def _audit(action: str, claim: Claim, actor: User, before: dict[str, object]) -> None:
    pledge = db.session.get(Pledge, claim.pledge_id) if claim.pledge_id else None
    record_event(
        action,
        claim,
        actor=actor,
        company_id=pledge.company_id if pledge else None,
        before=before,
        after=_state(claim),
    )
