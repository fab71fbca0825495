"""Claim stories for sponsors: staff write them anonymised and approve them; a change takes the
approval back; the audit trail never carries the text."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.claims import stories
from portal.claims.exceptions import InvalidClaim, NotAllowed, StoryNotAnonymous
from portal.claims.models import Claim
from portal.claims.services import record_claim
from portal.extensions import db
from tests.conftest import csrf_token
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
STORY = "A pedicab driver broke his arm on the job; BPJS paid the hospital and his lost days."


@pytest.fixture
def claim(actors) -> Claim:  # type: ignore[no-untyped-def]
    _, (worker,) = helpers.covered_pledge(1, 1, MONTH, names=("Suparman Wibowo",))
    return record_claim(worker, MONTH, "jkk", 2_500_000, "", actors.staff)


def test_a_story_is_approved_in_a_second_step(actors, claim):
    assert stories.update_story(claim, f"  {STORY} ", actors.staff)
    assert (claim.story, claim.story_approved) == (STORY, False)
    stories.approve_story(claim, actors.staff)
    assert claim.story_approved and claim.story_approved_by_id == actors.staff.id
    assert not stories.update_story(claim, STORY, actors.staff)  # the same text: still approved
    assert claim.story_approved


def test_changing_an_approved_story_takes_the_approval_back(actors, claim):
    stories.update_story(claim, STORY, actors.staff)
    stories.approve_story(claim, actors.staff)
    stories.update_story(claim, STORY + " He is back at work.", actors.staff)
    assert not claim.story_approved and claim.story_approved_by_id is None


def test_withdrawing_hides_the_story_again(actors, claim):
    stories.update_story(claim, STORY, actors.staff)
    stories.approve_story(claim, actors.staff)
    stories.withdraw_story(claim, actors.staff)
    assert not claim.story_approved and claim.story == STORY


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Pak Suparman fell from his pedicab.", ("name",)),
        ("Call his wife on 0812-3456-7890 for a photo.", ("number",)),
        ("NIK 3374011201800001 was treated.", ("number",)),
        ("Write to wibowo@example.com.", ("name", "email")),
    ],
)
def test_a_story_that_may_identify_the_worker_is_not_approved(actors, claim, text, found):
    stories.update_story(claim, text, actors.staff)
    with pytest.raises(StoryNotAnonymous) as refused:
        stories.approve_story(claim, actors.staff)
    assert refused.value.found == found
    assert not claim.story_approved


def test_amounts_and_short_numbers_do_not_count_as_identifying():
    text = "BPJS paid Rp42.000.000 to the family; 3 children, 2 of them at school in 2026."
    assert stories.identifying_parts(text, "Siti Aminah binti Ahmad") == ()
    assert stories.identifying_parts("Bin went home.", "Ali bin Umar") == ()  # a particle


def test_an_empty_story_cannot_be_approved_and_sponsors_cannot_write(actors, claim):
    with pytest.raises(InvalidClaim):
        stories.approve_story(claim, actors.staff)
    with pytest.raises(NotAllowed):
        stories.update_story(claim, STORY, actors.owner)
    with pytest.raises(NotAllowed):
        stories.approve_story(claim, actors.auditor)


def test_the_audit_trail_has_the_steps_but_never_the_text(actors, claim):
    stories.update_story(claim, STORY, actors.staff)
    stories.approve_story(claim, actors.staff)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.like("claim.story%"), AuditEvent.object_id == str(claim.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["claim.story_update", "claim.story_approve"]
    assert events[1].after == {"story_chars": len(STORY), "approved": True}
    assert events[0].company_id is not None  # the sponsor's own trail shows the step
    assert all("pedicab" not in str(e.before) + str(e.after) for e in events)


def test_staff_write_and_approve_on_the_claim_page(actors, logged_in, claim):
    client = logged_in(actors.staff)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'id="story-form"' in page and 'id="approve-story"' in page
    token = csrf_token(client, f"/claims/{claim.id}")
    saved = client.post(f"/claims/{claim.id}/story", data={"csrf_token": token, "story": STORY})
    assert saved.status_code == 302
    assert not db.session.get(Claim, claim.id).story_approved
    listed = client.get("/claims/?story=pending").get_data(as_text=True)
    assert f'data-claim="{claim.id}"' in listed and 'data-story="pending"' in listed
    approved = client.post(
        f"/claims/{claim.id}/story",
        data={"csrf_token": token, "story": STORY, "approve": "Save and approve for sponsors"},
    )
    assert approved.status_code == 302
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'data-status="approved"' in page and actors.staff.email in page
    assert f'data-claim="{claim.id}"' in client.get("/claims/?story=approved").get_data(
        as_text=True
    )
    client.post(f"/claims/{claim.id}/story/withdraw", data={"csrf_token": token})
    assert not db.session.get(Claim, claim.id).story_approved


def test_the_page_says_why_a_story_is_refused(actors, logged_in, claim):
    client = logged_in(actors.staff)
    token = csrf_token(client, f"/claims/{claim.id}")
    response = client.post(
        f"/claims/{claim.id}/story",
        data={"csrf_token": token, "story": "Suparman is fine.", "approve": "1"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "may identify the worker" in page and "the worker&#39;s name" in page
    assert db.session.get(Claim, claim.id).story == ""  # nothing was kept
    too_long = client.post(
        f"/claims/{claim.id}/story", data={"csrf_token": token, "story": "x" * 501}
    )
    assert too_long.status_code == 400


def test_auditors_read_the_story_but_get_no_form(actors, logged_in, claim):
    stories.update_story(claim, STORY, actors.staff)
    page = logged_in(actors.auditor).get(f"/claims/{claim.id}").get_data(as_text=True)
    assert STORY in page and 'id="story-form"' not in page
