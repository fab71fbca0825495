"""Company registration, staff verification and rejection, member invitations."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent, AuditImmutableError
from portal.auth.models import User
from portal.companies.exceptions import IllegalTransition
from portal.companies.models import Company, CompanyStatus
from portal.companies.services import verify_company
from portal.extensions import db
from tests import factories
from tests.conftest import csrf_token, login

GOOD = {
    "legal_name": "PT Kopi Tugu Jaya",
    "nib": "1234567890123",
    "npwp": "01.234.567.4-901.000",  # 4: the Luhn check digit of 01234567
    "address": "Jl. Gajahmada 10, Semarang",
    "sector": "hospitality",
    "contact_name": "Dian Lestari",
    "contact_phone": "0248445566",
    "owner_email": "dian@kopitugu.example.com",
    "password": "Kapal-Layar-Banjir-Kanal-77",
    "confirm": "Kapal-Layar-Banjir-Kanal-77",
}


def _register(client, **changes):  # type: ignore[no-untyped-def]
    data = {**GOOD, **changes, "csrf_token": csrf_token(client, "/companies/register")}
    return client.post("/companies/register", data=data)


def _companies() -> int:
    return db.session.scalar(select(func.count(Company.id)))


def test_registration_creates_a_pending_company_and_logs_the_owner_in(client):
    response = _register(client)
    assert response.status_code == 302
    company = db.session.scalar(select(Company).where(Company.nib == "1234567890123"))
    assert company.status == CompanyStatus.PENDING
    assert company.npwp == "012345674901000"
    assert company.contact_phone == "+62248445566"  # E.164
    page = client.get("/company").get_data(as_text=True)
    assert 'data-status="pending"' in page
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"company.register", "user.create", "auth.login"} <= actions


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("nib", "123456789012", "NIB must be 13 digits."),
        ("nib", "12345678901234", "NIB must be 13 digits."),
        ("nib", "12345678901AB", "NIB must be 13 digits."),
        ("npwp", "01234567890123", "NPWP must be 15 or 16 digits."),
        ("npwp", "01234567890123456", "NPWP must be 15 or 16 digits."),
        ("npwp", "01.234.567.8-901.000", "This NPWP does not add up"),
        ("contact_phone", "0241", "not a valid Indonesian phone number"),
        ("contact_phone", "+1 415 555 2671", "Enter an Indonesian phone number"),
        ("owner_email", "not-an-email", "Invalid email address."),
        ("confirm", "something-else-entirely", "The passwords differ."),
    ],
)
def test_bad_registration_input_is_explained_and_nothing_is_saved(client, field, value, message):
    response = _register(client, **{field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert 'value="PT Kopi Tugu Jaya"' in html  # what was typed is kept
    assert _companies() == 0


def test_weak_password_is_refused_and_nothing_is_saved(client):
    response = _register(client, password="password123456789", confirm="password123456789")
    assert response.status_code == 400
    assert "too easy to guess" in response.get_data(as_text=True)
    assert _companies() == 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_duplicate_email_is_refused_and_nothing_is_saved(client, actors):
    response = _register(client, owner_email=actors.staff.email)
    assert response.status_code == 400
    assert "An account with this e-mail exists already." in response.get_data(as_text=True)
    assert _companies() == 2  # the two companies of the actors fixture only


def test_duplicate_nib_is_refused(client):
    existing = factories.company()
    response = _register(client, nib=existing.nib)
    assert response.status_code == 400
    assert "This number is registered already." in response.get_data(as_text=True)


def test_registration_without_csrf_token_changes_nothing(client):
    response = client.post("/companies/register", data=GOOD)
    assert response.status_code == 400
    assert _companies() == 0


def test_extra_fields_cannot_set_status_or_role(client):
    response = _register(client, status="verified", role="admin", company_id="1")
    assert response.status_code == 302
    company = db.session.scalar(select(Company).where(Company.nib == "1234567890123"))
    owner = db.session.scalar(select(User).where(User.email == GOOD["owner_email"]))
    assert company.status == CompanyStatus.PENDING
    assert owner.role == "sponsor_owner" and owner.company_id == company.id


def test_staff_verifies_a_company_and_the_owner_is_told(actors, logged_in, outbox):
    company = factories.company()
    owner = factories.user(factories.Role.SPONSOR_OWNER, company=company)
    staff = logged_in(actors.staff)
    token = csrf_token(staff, f"/staff/companies/{company.id}")
    assert (
        staff.post(f"/staff/companies/{company.id}/verify", data={"csrf_token": token}).status_code
        == 302
    )
    assert db.session.get(Company, company.id).status == CompanyStatus.VERIFIED
    assert [m.to for m in outbox] == [[owner.email]]
    assert "verified" in outbox[0].subject.lower() or "terverifikasi" in outbox[0].subject
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.verified"))
    assert event.before == {"status": "pending", "rejection_reason": None}
    assert event.actor_id == actors.staff.id


def test_rejection_needs_a_reason_and_the_owner_reads_it(actors, logged_in, outbox):
    company = factories.company()
    owner = factories.user(factories.Role.SPONSOR_OWNER, company=company)
    staff = logged_in(actors.staff)
    url = f"/staff/companies/{company.id}/reject"
    token = csrf_token(staff, f"/staff/companies/{company.id}")
    assert staff.post(url, data={"csrf_token": token, "reason": ""}).status_code == 400
    assert db.session.get(Company, company.id).status == CompanyStatus.PENDING
    reason = "NIB tidak cocok dengan data OSS."
    assert staff.post(url, data={"csrf_token": token, "reason": reason}).status_code == 302
    assert db.session.get(Company, company.id).status == CompanyStatus.REJECTED
    assert reason in outbox[0].body
    owner_client = logged_in(owner)
    assert reason in owner_client.get("/company").get_data(as_text=True)


def test_a_company_cannot_be_verified_twice(actors):
    company = factories.company()
    verify_company(company, actor=actors.staff)
    with pytest.raises(IllegalTransition):
        verify_company(company, actor=actors.staff)


def test_owner_invites_a_member_who_sets_a_password_and_logs_in(app, actors, logged_in, outbox):
    owner = logged_in(actors.owner)
    token = csrf_token(owner, "/company/members")
    response = owner.post(
        "/company/members",
        data={
            "csrf_token": token,
            "email": "baru@sejahtera.example.com",
            "full_name": "Anggota Baru",
        },
    )
    assert response.status_code == 302
    member = db.session.scalar(select(User).where(User.email == "baru@sejahtera.example.com"))
    assert member.company_id == actors.owner.company_id and member.role == "sponsor_member"
    path = re.search(r"(/auth/invitation/\S+)", outbox[0].body).group(1)
    assert "valid for 7 days" in outbox[0].body  # INVITATION_DAYS
    client = app.test_client()
    password = "Pisang-Plenet-Wingko-Babat-21"
    client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "password": password, "confirm": password},
    )
    assert login(client, member.email, password).status_code == 302


def test_member_cannot_invite(actors, logged_in):
    member = logged_in(actors.member)
    token = csrf_token(member, "/company/members")
    response = member.post(
        "/company/members", data={"csrf_token": token, "email": "x@example.com", "full_name": "X"}
    )
    assert response.status_code == 403


def test_audit_rows_cannot_be_changed(actors):
    company = factories.company()
    verify_company(company, actor=actors.staff)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "company.verified"))
    event.action = "company.something_else"
    with pytest.raises(AuditImmutableError):
        db.session.flush()
    db.session.rollback()
