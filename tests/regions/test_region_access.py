"""Every route x role x region -> expected status, built from app.url_map: another region's
objects are a 404 (never a 403), and pages without an object list nothing of another region."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.models import Role
from portal.certificates.models import CertificateKind
from portal.certificates.services import issue_certificate
from portal.claims.models import Claim, ClaimKind
from portal.companies.models import Company
from portal.coverage.models import Coverage, MonthClose, Remittance, RemittanceFunder
from portal.events import EventStatus, MailRequested, emit
from portal.extensions import db
from portal.matching import services as matching_services
from portal.payments import services as payment_services
from portal.payments.issues import open_issue
from portal.payments.models import Document, IssueKind, RefundApproval
from portal.payments.statement import record_statement_import
from portal.pledges import services as pledge_services
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.regions.scope import region_scope
from portal.regions.services import add_region
from portal.reports.models import TjslStatement
from portal.workers.jobs import create_import_job, run_import_job
from tests import factories
from tests.auth.test_access_table import SKIPPED_ENDPOINTS
from tests.conftest import Actors, csrf_token
from tests.matching import builders

SEMARANG, KUDUS = "33.74", "33.19"
ROLES = ["sponsor_owner", "sponsor_member", "staff", "admin", "auditor"]
SPONSORS = {"sponsor_owner", "sponsor_member"}
OK, REDIRECT, FORBIDDEN, BAD, MISSING, LOGIN = 200, 302, 403, 400, 404, 302

# What only a region's own people may see; a sponsor's company's pledges, payments and
# certificates are national and so not in this set.
CITY_ONLY = {
    "worker",
    "worker_link",
    "clerk",
    "issue",
    "statement",
    "remittance",
    "refund",
    "job_link",
}
# A dry run whose one row is rejected (no birth date): its job has a rejected-rows file.
ROSTER = (
    b"nik;nama;tanggal_lahir;jenis_kelamin;kategori;kode_kelurahan;no_hp\n"
    b"3374011203850002;Tanpa Tanggal;;L;becak;33.74.01.1001;\n"
)
CLOSED = {SEMARANG: "2025-11", KUDUS: "2025-10"}  # each region closed a different month


@dataclass
class World:
    """One region's objects: the route parameters that name them and texts only it has."""

    ids: dict[str, object]
    markers: dict[str, str]


def _kelurahan(code: str) -> str:
    return db.session.scalars(
        select(Kelurahan.code)
        .join(Kecamatan, Kelurahan.kecamatan_code == Kecamatan.code)
        .where(Kecamatan.region_code == code)
        .order_by(Kelurahan.code)
    ).first()


def _claim(worker_id: int, clerk_id: int) -> Claim:
    """A work-accident claim in the worker's first covered month."""
    coverage = db.session.scalars(select(Coverage).where(Coverage.worker_id == worker_id)).first()
    claim = Claim(
        worker_id=worker_id,
        coverage_id=coverage.id,
        funder=coverage.funder,
        pledge_id=coverage.pledge_id,
        event_date=coverage.month,
        month=coverage.month,
        kind=ClaimKind.JKK,
        amount=1_000_000,
        recorded_by_id=clerk_id,
    )
    db.session.add(claim)
    db.session.flush()
    return claim


def _closed_and_remitted(month: str, reference: str, clerk_id: int) -> str:
    closed = date.fromisoformat(f"{month}-01")
    db.session.add(MonthClose(month=closed, totals={}, closed_by_id=clerk_id))
    db.session.add(
        Remittance(
            month=closed,
            funder=RemittanceFunder.APBD,
            workers=0,
            amount=0,
            reference=reference,
            remitted_by_id=clerk_id,
        )
    )
    return reference


def _world(code: str, actors: Actors) -> World:
    """Workers, pledges and every region-owned thing a route can name, made in `code`."""
    label = "Semarang" if code == SEMARANG else "Kudus"
    company = db.session.get_one(Company, actors.owner.company_id)
    with region_scope(code):
        builders.rules(city_quotas={}, require_second_approver=False)
        category_id = db.session.scalars(select(Category.id).order_by(Category.id)).first()
        clerk = factories.user(Role.STAFF, email=f"penanda-{label.lower()}@example.com")
        month = pledge_services.earliest_start()
        kelurahan = _kelurahan(code)
        workers = [
            factories.worker(kelurahan_code=kelurahan, full_name=f"Penanda {label} {n}")
            for n in (1, 2)
        ]
        active = builders.paid_pledge(company, workers=2, months=3, start=month)
        run = matching_services.propose_run(month, clerk)
        matching_services.approve_run(run, clerk)
        certificate = issue_certificate(active, CertificateKind.ACTIVE, clerk)
        claim = _claim(workers[0].id, clerk.id)
        pending = pledge_services.create_pledge(
            company, actors.owner, pledge_services.PledgeTerms(2, 3, month)
        )
        pledge_services.submit_pledge(pending, company, actors.owner)
        payment = payment_services.start_bank_transfer(pending, company, actors.owner)
        document = db.session.scalar(select(Document).where(Document.payment_id == payment.id))
        remittance_ref = _closed_and_remitted(CLOSED[code], f"BPJS-{label.upper()}-0001", clerk.id)
        record_event("worker.update", workers[0], actor=clerk)
        issue = open_issue(IssueKind.OVERPAYMENT, active, None, 5_000, detail=f"Kelebihan {label}")
        statement = record_statement_import([], f"mutasi-{label.lower()}.csv", clerk)
        refund = RefundApproval(
            pledge_id=active.id,
            amount=active.price_total,
            reason=f"Pengembalian {label}",
            requested_by_id=clerk.id,
        )
        db.session.add(refund)
        [job] = emit(db.session, MailRequested(to=clerk.email, subject=f"Surat {label}", body="-"))
        job.status = EventStatus.FAILED
        roster = create_import_job(ROSTER, f"roster-{label.lower()}.csv", False, clerk.id)
        run_import_job(roster.id)
        db.session.flush()
    world = World(
        ids={
            "worker_id": workers[0].id,
            "pledge_id": active.id,
            "payment_id": payment.id,
            "document_id": document.id,
            "run_id": run.id,
            "certificate_id": certificate.id,
            "serial": certificate.serial,
            "claim_id": claim.id,
            "issue_id": issue.id,
            "import_id": statement.id,
            "request_id": refund.id,
            "event_id": job.id,
            "token": roster.token,
            "month": CLOSED[code],
            "clerk_id": clerk.id,
            "code": code,
            "category_id": category_id,
        },
        markers={
            "worker": workers[0].full_name,
            "worker_link": f'/staff/workers/{workers[0].id}"',
            "pledge_link": f'/staff/pledges/{active.id}"',
            "payment": payment.reference,
            "certificate": certificate.serial,
            "claim_link": f'/claims/{claim.id}"',
            "run_link": f'/matching/runs/{run.id}"',
            "clerk": clerk.email,
            "job_link": f'/admin/jobs/{job.id}/retry"',
            "issue": f"Kelebihan {label}",
            "statement": f"mutasi-{label.lower()}.csv",
            "remittance": remittance_ref,
            "refund": f"Pengembalian {label}",
        },
    )
    db.session.expunge_all()  # a session serves one region at a time
    return world


@dataclass
class Worlds:
    semarang: World
    kudus: World
    shared: dict[str, object]  # national objects: companies, their members, TJSL statements


@pytest.fixture
def worlds(app, actors: Actors) -> Worlds:  # type: ignore[no-untyped-def]
    add_region(KUDUS)
    company = db.session.get_one(Company, actors.owner.company_id)
    invited = factories.user(Role.SPONSOR_MEMBER, company=company, active=False)
    statement = TjslStatement(
        serial="TJSL/2026/999998",
        company_id=company.id,
        year=2026,
        company_name=company.legal_name,
        plan_amount=33_600,
        realised_amount=16_800,
        realised_through=date(2026, 1, 1),
    )
    db.session.add(statement)
    db.session.flush()
    shared = {
        "company_id": company.id,
        "member_id": invited.id,
        "statement_id": statement.id,
        "fmt": "csv",
        "funder": "apbd",
        "name": "sex",
        "year": date.today().year,
    }
    semarang = _world(SEMARANG, actors)
    kudus = _world(KUDUS, actors)
    return Worlds(semarang, kudus, shared)


@dataclass
class Row:
    """A route's expected status per role in the two runs, and what its page lists."""

    own: dict[str, int]
    other: dict[str, int]
    shows: tuple[str, ...]
    public: tuple[str, ...] = ()  # texts of any region the page may show (public facts)


def same(owner, member, staff, admin, auditor, shows=(), public=()):  # type: ignore[no-untyped-def]
    """A route without a region's object: one status in both runs. `shows` names the texts of
    the user's own region its page lists (for roles that get it); no page ever holds another
    region's texts, but for the `public` ones."""
    own = dict(zip(ROLES, [owner, member, staff, admin, auditor], strict=True))
    return Row(own=own, other=dict(own), shows=tuple(shows), public=tuple(public))


def scoped(owner, member, staff, admin, auditor):  # type: ignore[no-untyped-def]
    """A route naming a region's object: another region's is a 404 for every role that may
    reach the route (the role check comes first, so a refused role stays refused). A sponsor's
    own company's object in another region is reachable as in Kota Semarang (companies are
    national and pledge in any region)."""
    own = dict(zip(ROLES, [owner, member, staff, admin, auditor], strict=True))
    other = {
        role: status if status == FORBIDDEN or role in SPONSORS else MISSING
        for role, status in own.items()
    }
    return Row(own=own, other=other, shows=())


# (method, endpoint) -> status per role, for the user's own region's objects and another's.
# A new route without a row fails the test. Columns: owner, member, staff, admin, auditor.
# The POSTs carry only a CSRF token, as in tests/auth/test_access_table.py.
EXPECTED = {
    ("GET", "public.index"): same(OK, OK, OK, OK, OK),
    ("GET", "public.healthz"): same(OK, OK, OK, OK, OK),
    # Each region's public page (its own code in each run): counts only, for everyone.
    ("GET", "public.region"): same(OK, OK, OK, OK, OK),
    ("POST", "public.bench_trivial"): same(MISSING, MISSING, MISSING, MISSING, MISSING),
    ("GET", "public.bench_trivial_page"): same(MISSING, MISSING, MISSING, MISSING, MISSING),
    ("POST", "public.set_language"): same(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("GET", "auth.login"): same(OK, OK, OK, OK, OK),
    ("POST", "auth.login"): same(OK, OK, OK, OK, OK),
    ("GET", "auth.home"): same(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("POST", "auth.logout"): same(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("GET", "auth.forgot_password"): same(OK, OK, OK, OK, OK),
    ("POST", "auth.forgot_password"): same(OK, OK, OK, OK, OK),
    ("GET", "auth.set_password"): same(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("POST", "auth.set_password"): same(REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("GET", "auth.confirm_password"): same(OK, OK, OK, OK, OK),
    ("POST", "auth.confirm_password"): same(OK, OK, OK, OK, OK),
    ("GET", "auth.accept_invitation"): same(MISSING, MISSING, MISSING, MISSING, MISSING),
    ("POST", "auth.accept_invitation"): same(MISSING, MISSING, MISSING, MISSING, MISSING),
    # The region's accounts: its clerk is listed, another region's is not and is a 404.
    ("GET", "auth.accounts"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, ["clerk"]),
    ("POST", "auth.create_account"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN),
    ("POST", "auth.toggle_account"): scoped(FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN),
    # Companies and their members are national: the same in every region.
    ("GET", "companies.register"): same(OK, OK, OK, OK, OK),
    ("POST", "companies.register"): same(BAD, BAD, BAD, BAD, BAD),
    ("GET", "companies.mine"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "companies.members"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "companies.invite"): same(BAD, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "companies.resend_invitation"): same(
        REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "companies.resubmit"): same(REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "companies.resubmit"): same(REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "companies.review_queue"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("GET", "companies.detail"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "companies.verify"): same(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("POST", "companies.reject"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    # Workers, their imports and their rights (UU 27/2022).
    ("GET", "workers.register"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK, ["worker_link"]),
    ("POST", "workers.search"): same(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, REDIRECT),
    ("GET", "workers.detail"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("GET", "workers.edit"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "workers.edit"): scoped(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("POST", "workers.change_status"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("GET", "workers.export"): same(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN, ["worker"]),
    ("GET", "workers.import_start"): same(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "workers.import_upload"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "workers.import_job"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "workers.import_status"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "workers.import_rejected"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "workers.import_run"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("GET", "privacy.export_json"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "privacy.export_pdf"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("GET", "privacy.erase"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "privacy.erase"): scoped(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    # Sponsors' pledges: the pledge in the URL is their own company's, active and paid.
    ("GET", "pledges.home"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.index"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.new"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.new"): same(BAD, BAD, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.detail"): scoped(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.edit"): scoped(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.edit"): scoped(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.delete"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.submit"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.send_back"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.renew"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.auto_renew"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "pledges.approval_policy"): same(OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "pledges.approval_policy"): same(REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    # Payments: the pledge above; the payment and document of a second pledge's invoice.
    ("POST", "payments.stripe_webhook"): same(BAD, BAD, BAD, BAD, BAD),
    ("POST", "payments.pay_stripe"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "payments.pay_transfer"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "payments.returned"): scoped(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "payments.unused_wait"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "payments.unused_return"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "payments.unused_target"): scoped(REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "payments.unused_rollover"): scoped(
        REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    # Auditors do not read documents (a 404, as for a document that does not exist).
    ("GET", "payments.document_pdf"): scoped(OK, OK, OK, OK, MISSING),
    ("GET", "payments.staff_pledges"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK, ["pledge_link"]),
    ("GET", "payments.staff_pledge"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "payments.refund"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("POST", "payments.decide_refund"): scoped(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "payments.transfers"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK, ["payment", "statement"]),
    ("POST", "payments.confirm_transfer"): scoped(
        FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN
    ),
    ("POST", "payments.import_statement"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "payments.statement_result"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "payments.dismiss_statement"): scoped(
        FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN
    ),
    ("GET", "payments.issues"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK, ["issue"]),
    ("POST", "payments.settle_issue"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("POST", "payments.send_refunds"): same(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    # The audit trail of the region (the page is paginated; the export holds every row).
    ("GET", "audit.events"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    ("GET", "audit.export"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, ["clerk"]),
    # Matching: the run in the URL is the region's approved run.
    ("GET", "matching.index"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK, ["run_link"]),
    ("POST", "matching.propose"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "matching.run"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "matching.approve"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("POST", "matching.discard"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("GET", "matching.rules"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("GET", "matching.edit_rules"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    ("POST", "matching.edit_rules"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN),
    ("GET", "regions.scheme"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    ("POST", "regions.scheme"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN),
    # The region's categories and rates: another region's category is a 404.
    ("GET", "regions.categories"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    ("POST", "regions.create_category"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN),
    ("GET", "regions.edit_category"): scoped(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    ("POST", "regions.edit_category"): scoped(FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN),
    ("POST", "regions.retire_category"): scoped(
        FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN
    ),
    ("POST", "regions.reactivate_category"): scoped(
        FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN
    ),
    ("GET", "regions.rates"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN),
    ("POST", "regions.create_rate"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, BAD, FORBIDDEN),
    # The national role's pages: no region's people reach them.
    ("GET", "national.dashboard"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "national.regions"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "national.check_region"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "national.add_region"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    # Months: the month in the URL is the one the region closed (and remitted); another
    # region's closed month is a month still open here, whose page shows nothing of it.
    ("GET", "coverage.months"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("GET", "coverage.month"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "coverage.close"): same(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("GET", "coverage.remittance_file"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    # The empty form is refused before the month is looked at, closed or not.
    ("POST", "coverage.mark_remitted"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "coverage.lapsing"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "coverage.offer_renewals"): same(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("GET", "coverage.city_import"): same(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "coverage.city_import"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "ledger.index"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    ("GET", "ledger.entries"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, ["pledge_link"]),
    ("GET", "ledger.trial_balance"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    ("GET", "ledger.reconciliation"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    ("GET", "ledger.evidence"): scoped(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    # Claims: the claim in the URL is the region's worker's.
    ("GET", "claims.index"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK, ["claim_link"]),
    ("GET", "claims.detail"): scoped(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("POST", "claims.story"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("POST", "claims.withdraw_story"): scoped(FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, FORBIDDEN),
    ("GET", "claims.new"): same(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "claims.new"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "claims.upload"): same(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "claims.upload"): same(FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    # Certificates: the PDF for its company and staff. Verifying is public: a certificate
    # verifies whichever region issued it and whoever asks.
    ("GET", "certificates.certificate_pdf"): scoped(OK, OK, OK, OK, OK),
    ("GET", "certificates.verify"): same(OK, OK, OK, OK, OK, public=["certificate"]),
    ("GET", "certificates.verify_form"): same(OK, OK, OK, OK, OK),
    ("GET", "certificates.public_key"): same(OK, OK, OK, OK, OK),
    # Reports: the city dashboard of the region; a sponsor's reports of their company (the
    # TJSL statement is the company's, national).
    ("GET", "reports.city"): same(FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("GET", "reports.index"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.period_file"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.period_chart"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.tjsl_xlsx"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.tjsl_pdf"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("POST", "reports.issue_tjsl_statement"): same(
        REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN
    ),
    ("GET", "reports.tjsl_statement_pdf"): same(OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ("GET", "reports.pledge"): scoped(OK, OK, OK, OK, OK),
    ("GET", "reports.pledge_file"): scoped(OK, OK, OK, OK, OK),
    ("GET", "reports.pledge_chart"): scoped(OK, OK, OK, OK, OK),
    # The region's failed jobs: its own is listed and retried, another region's is a 404.
    ("GET", "jobs.index"): same(FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, ["job_link"]),
    ("POST", "jobs.retry"): scoped(FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, FORBIDDEN),
    ("GET", "queue.index"): same(FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
}


def _routes(app):  # type: ignore[no-untyped-def]
    """Every (method, rule): reads first, so they see the objects as built; logout last."""
    found = [
        (method, rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED_ENDPOINTS
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(found, key=lambda item: (item[1].endpoint == "auth.logout", item[0] == "POST"))


# Route parameters that name something other than what their name says.
ALIASES = {
    ("auth.toggle_account", "user_id"): "clerk_id",
    ("companies.resend_invitation", "user_id"): "member_id",
}


def _url(rule, values: dict[str, object]) -> str:  # type: ignore[no-untyped-def]
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[ALIASES.get((rule.endpoint, name), name)])

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", value, rule.rule)


def _request(client, method: str, url: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The status and body; an exception the app raises is what production answers with a
    500. The body without the URL itself (pages repeat it, e.g. in the language form)."""
    try:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf_token(client, "/auth/forgot")})
    except Exception as error:  # noqa: BLE001
        db.session.rollback()
        return 500, f"{type(error).__name__}: {error}"
    body = response.get_data().decode("utf-8", "replace")
    return response.status_code, re.sub(re.escape(url) + r"(?![\w/.-])", "", body)


def _texts_of_another_region(role: str, world: World) -> dict[str, str]:
    """What the role must never see of the other region: all of it for the region's people;
    for sponsors what is not their company's."""
    return {
        kind: text
        for kind, text in world.markers.items()
        if role not in SPONSORS or kind in CITY_ONLY
    }


def test_every_route_has_a_region_row(app):
    routes = {(method, rule.endpoint) for method, rule in _routes(app)}
    assert not routes - set(EXPECTED), (
        f"routes without a region row: {sorted(routes - set(EXPECTED))}"
    )
    assert not set(EXPECTED) - routes, f"rows of no route: {sorted(set(EXPECTED) - routes)}"


@pytest.mark.parametrize("region", ["own-33.74", "other-33.19"])
@pytest.mark.parametrize("role", ROLES)
def test_route_access_by_region(app, actors, worlds, logged_in, role, region):
    """The user is Kota Semarang's (sponsors: served there); the objects in the URLs are
    Kota Semarang's (own) or Kabupaten Kudus's (other)."""
    own = region.startswith("own")
    client = logged_in(actors.by_role(role))
    values = {**worlds.shared, **(worlds.semarang if own else worlds.kudus).ids}
    hidden = _texts_of_another_region(role, worlds.kudus)
    failures = []
    for method, rule in _routes(app):
        url = _url(rule, values)
        status, body = _request(client, method, url)
        row = EXPECTED[(method, rule.endpoint)]
        expected = (row.own if own else row.other)[role]
        where = f"{method} {rule.endpoint} ({url}) as {role}, {region}"
        if status != expected:
            failures.append(
                f"{where}: {status} != {expected} {body[:120] if status == 500 else ''}"
            )
        failures += [
            f"{where}: shows Kudus's {kind}"
            for kind, text in hidden.items()
            if text in body and kind not in row.public
        ]
        if own and status == OK:
            failures += [
                f"{where}: does not list its own {kind}"
                for kind in row.shows
                if worlds.semarang.markers[kind] not in body
            ]
    assert not failures, "\n".join(failures)
