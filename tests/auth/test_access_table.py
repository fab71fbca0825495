"""Every route x every role (and anonymous) -> expected status, built from app.url_map."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.companies.models import Company
from portal.extensions import db
from portal.matching import services as matching_services
from portal.payments import services as payment_services
from portal.payments.models import Document
from portal.pledges import services as pledge_services
from portal.reference.models import Category
from portal.reports.models import TjslStatement
from tests import factories
from tests.conftest import Actors, csrf_token

ROLES = ["anonymous", "sponsor_owner", "sponsor_member", "staff", "admin", "auditor", "national"]
LOGIN = 302  # anonymous users are sent to the login page
OK, REDIRECT, FORBIDDEN, BAD, MISSING = 200, 302, 403, 400, 404


def row(anonymous, owner, member, staff, admin, auditor, national):  # type: ignore[no-untyped-def]
    return dict(
        zip(ROLES, [anonymous, owner, member, staff, admin, auditor, national], strict=True)
    )


# (method, endpoint) -> expected status per role. A new route without a row fails the test.
EXPECTED = {
    ("GET", "public.index"): row(OK, OK, OK, OK, OK, OK, OK),
    ("GET", "public.healthz"): row(OK, OK, OK, OK, OK, OK, OK),
    ("POST", "public.bench_trivial"): row(
        MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
    ),
    ("GET", "public.bench_trivial_page"): row(
        MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
    ),
    ("POST", "public.set_language"): row(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT
    ),
    # Each region's public page; the code in the URL is Kota Semarang's.
    ("GET", "public.region"): row(OK, OK, OK, OK, OK, OK, OK),
    # The programme's administrator: every region's counts, and adding a region (the empty
    # form is refused).
    ("GET", "national.dashboard"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK
    ),
    ("GET", "national.regions"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK
    ),
    ("POST", "national.check_region"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD
    ),
    ("POST", "national.add_region"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD
    ),
    ("GET", "auth.login"): row(OK, OK, OK, OK, OK, OK, OK),
    ("POST", "auth.login"): row(OK, OK, OK, OK, OK, OK, OK),
    ("GET", "auth.home"): row(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("POST", "auth.logout"): row(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT
    ),
    ("GET", "auth.forgot_password"): row(OK, OK, OK, OK, OK, OK, OK),
    ("POST", "auth.forgot_password"): row(OK, OK, OK, OK, OK, OK, OK),
    ("GET", "auth.set_password"): row(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT
    ),
    ("POST", "auth.set_password"): row(
        REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT
    ),
    ("GET", "auth.accounts"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "auth.create_account"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "auth.toggle_account"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    # An invitation link that was never valid is 404 for everyone (expired or replaced: 410).
    ("GET", "auth.accept_invitation"): row(
        MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
    ),
    ("POST", "auth.accept_invitation"): row(
        MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
    ),
    ("GET", "companies.register"): row(OK, OK, OK, OK, OK, OK, OK),
    ("POST", "companies.register"): row(BAD, BAD, BAD, BAD, BAD, BAD, BAD),
    ("GET", "companies.mine"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "companies.members"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "companies.invite"): row(
        LOGIN, BAD, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    # Owners only; the member in the URL (staff2) and the company (the other one) are not theirs.
    ("POST", "companies.resend_invitation"): row(
        LOGIN, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "companies.resubmit"): row(
        LOGIN, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "companies.resubmit"): row(
        LOGIN, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "companies.review_queue"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "companies.detail"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "companies.verify"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "companies.reject"): row(LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN),
    ("GET", "audit.events"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "audit.export"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    # The ledger workbench: auditors and admins read; staff and sponsors do not.
    ("GET", "ledger.index"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "ledger.entries"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "ledger.trial_balance"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "ledger.reconciliation"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN
    ),
    # The evidence pack is for closed months: the admin closed 2026-01 above (coverage.close),
    # the auditor cannot close one, so there the month is still open.
    ("GET", "ledger.evidence"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, MISSING, FORBIDDEN),
    ("GET", "auth.confirm_password"): row(REDIRECT, OK, OK, OK, OK, OK, OK),
    ("POST", "auth.confirm_password"): row(REDIRECT, OK, OK, OK, OK, OK, OK),
    ("GET", "workers.register"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "workers.search"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, REDIRECT, FORBIDDEN
    ),
    ("GET", "workers.detail"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "workers.edit"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "workers.edit"): row(LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN),
    ("POST", "workers.change_status"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "workers.export"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("GET", "workers.import_start"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "workers.import_upload"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "workers.import_job"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "workers.import_status"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "workers.import_rejected"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "workers.import_run"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    # A worker's rights (UU 27/2022): staff and admins only, never auditors or sponsors.
    ("GET", "privacy.export_json"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("GET", "privacy.export_pdf"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("GET", "privacy.erase"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "privacy.erase"): row(LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN),
    # Sponsors' own pledges; the pledge in the URL belongs to another company, hence 404.
    ("GET", "pledges.index"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.new"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.new"): row(LOGIN, BAD, BAD, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.detail"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "pledges.edit"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.edit"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.delete"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.submit"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.renew"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.auto_renew"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.send_back"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "pledges.home"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "queue.index"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "payments.decide_refund"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "pledges.approval_policy"): row(
        LOGIN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "pledges.approval_policy"): row(
        LOGIN, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.pay_stripe"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.pay_transfer"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "payments.returned"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "payments.document_pdf"): row(LOGIN, MISSING, MISSING, OK, OK, MISSING, MISSING),
    ("POST", "payments.stripe_webhook"): row(BAD, BAD, BAD, BAD, BAD, BAD, BAD),
    ("GET", "payments.staff_pledges"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "payments.staff_pledge"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "payments.refund"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    # Auditors read the transfer list (without its actions); confirming stays with staff.
    ("GET", "payments.transfers"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "payments.confirm_transfer"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "jobs.index"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN),
    # A job that does not exist (or is another region's) is a 404.
    ("POST", "jobs.retry"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "payments.issues"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "payments.settle_issue"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.send_refunds"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.unused_wait"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.unused_return"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.unused_target"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.unused_rollover"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "payments.import_statement"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN
    ),
    # A statement import's result: staff who manage payments, and auditors (read only); the
    # id in the URL is unknown.
    ("GET", "payments.statement_result"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, MISSING, FORBIDDEN
    ),
    ("POST", "payments.dismiss_statement"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    # Claims: staff record and import; auditors read; an unknown claim id is 404.
    ("GET", "claims.index"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "claims.detail"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, MISSING, FORBIDDEN
    ),
    ("GET", "claims.new"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "claims.new"): row(LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN),
    ("GET", "claims.upload"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "claims.upload"): row(LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN),
    # A claim's story for sponsors: staff and admins write, approve and withdraw it.
    ("POST", "claims.story"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "claims.withdraw_story"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, FORBIDDEN, FORBIDDEN
    ),
    # Certificates: the PDF for its company and staff (an unknown id here); verify is public.
    ("GET", "certificates.certificate_pdf"): row(
        LOGIN, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
    ),
    ("GET", "certificates.verify"): row(
        MISSING, MISSING, MISSING, MISSING, MISSING, MISSING, MISSING
    ),
    ("GET", "certificates.verify_form"): row(OK, OK, OK, OK, OK, OK, OK),
    ("GET", "certificates.public_key"): row(OK, OK, OK, OK, OK, OK, OK),
    # Matching and coverage: staff and admins act, auditors read.
    ("GET", "matching.index"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "matching.propose"): row(LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN),
    ("GET", "matching.run"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "matching.approve"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "matching.discard"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "matching.rules"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "matching.edit_rules"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "matching.edit_rules"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN, FORBIDDEN
    ),
    # The region's scheme: an empty form is refused (the regulation is required).
    ("GET", "regions.scheme"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "regions.scheme"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "regions.categories"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "regions.create_category"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "regions.edit_category"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "regions.edit_category"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "regions.retire_category"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "regions.reactivate_category"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "regions.rates"): row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "regions.create_rate"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "coverage.months"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "coverage.month"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "coverage.close"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    # The close above really closed the month, so its (empty) file downloads.
    ("GET", "coverage.remittance_file"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN
    ),
    ("POST", "coverage.mark_remitted"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "coverage.lapsing"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("POST", "coverage.offer_renewals"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "coverage.city_import"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, FORBIDDEN),
    ("POST", "coverage.city_import"): row(
        LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN, FORBIDDEN
    ),
    # Reports: the city dashboard for city roles; a pledge's report for its company and staff
    # (the pledge here is the other company's: 404 to anyone else, national users included);
    # the sponsor dashboard for sponsors.
    ("GET", "reports.city"): row(LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK, FORBIDDEN),
    ("GET", "reports.index"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.period_file"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.period_chart"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.pledge"): row(LOGIN, MISSING, MISSING, OK, OK, OK, MISSING),
    ("GET", "reports.pledge_file"): row(LOGIN, MISSING, MISSING, OK, OK, OK, MISSING),
    ("GET", "reports.pledge_chart"): row(LOGIN, MISSING, MISSING, OK, OK, OK, MISSING),
    # The year for TJSL reports: the sponsor's own company only (this year: nothing closed, so
    # issuing a statement sends back to the page); the statement here is the other company's.
    ("GET", "reports.tjsl_xlsx"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.tjsl_pdf"): row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "reports.issue_tjsl_statement"): row(
        LOGIN, REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "reports.tjsl_statement_pdf"): row(
        LOGIN, MISSING, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
}

SKIPPED_ENDPOINTS = {"static", "bootstrap.static"}  # files, no permission involved


def _routes(app):  # type: ignore[no-untyped-def]
    """Every (method, rule); logout last, since it ends the session the others need."""
    found = [
        (method, rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED_ENDPOINTS
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda item: item[1].endpoint == "auth.logout")


def _url(rule, actors: Actors, ids: dict[str, int]) -> str:  # type: ignore[no-untyped-def]
    values = {
        "company_id": actors.other_owner.company_id,
        "user_id": actors.staff2.id,
        "token": "not-a-valid-token",
        "fmt": "csv",
        "certificate_id": 987_654,
        "claim_id": 987_654,
        "issue_id": 987_654,
        "request_id": 987_654,
        "event_id": 987_654,
        "import_id": 987_654,
        "serial": "PJS-2026-0000000000",
        "month": "2026-01",
        "funder": "apbd",
        "name": "sex",
        "year": date.today().year,
        "code": "33.74",
        **ids,
    }
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _objects_of_another_company(actors: Actors) -> dict[str, int]:
    """A worker, a pledge with an invoice and a TJSL statement that belong to the other
    company."""
    company = db.session.get(Company, actors.other_owner.company_id)
    pledge = pledge_services.create_pledge(
        company,
        actors.other_owner,
        pledge_services.PledgeTerms(2, 3, pledge_services.earliest_start()),
    )
    pledge_services.submit_pledge(pledge, company, actors.other_owner)
    payment = payment_services.start_bank_transfer(pledge, company, actors.other_owner)
    document = db.session.scalar(select(Document).where(Document.payment_id == payment.id))
    run = matching_services.propose_run(pledge_services.earliest_start(), actors.staff)
    statement = TjslStatement(
        serial="TJSL/2026/999999",
        company_id=company.id,
        year=2026,
        company_name=company.legal_name,
        plan_amount=33_600,
        realised_amount=16_800,
        realised_through=date(2026, 1, 1),
    )
    db.session.add(statement)
    db.session.flush()
    return {
        "worker_id": factories.worker().id,
        "pledge_id": pledge.id,
        "payment_id": payment.id,
        "document_id": document.id,
        "run_id": run.id,
        "statement_id": statement.id,
        "category_id": db.session.scalars(select(Category.id)).first(),  # the region's own
    }


def test_every_route_has_an_expected_row(app):
    missing = {(m, r.endpoint) for m, r in _routes(app)} - set(EXPECTED)
    assert not missing, f"routes without an access rule in EXPECTED: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
def test_route_access_matches_table(app, actors, logged_in, role):
    if role == "anonymous":
        client = app.test_client()
    elif role == "national":
        client = logged_in(factories.user(Role.NATIONAL))
    else:
        client = logged_in(actors.by_role(role))
    failures = []
    ids = _objects_of_another_company(actors)
    for method, rule in _routes(app):
        url = _url(rule, actors, ids)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf_token(client, "/auth/forgot")})
        expected = EXPECTED[(method, rule.endpoint)][role]
        if response.status_code != expected:
            failures.append(f"{method} {url}: {response.status_code} != {expected}")
    assert not failures, "\n".join(failures)
