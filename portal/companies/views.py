"""Company registration, the sponsor's own company page, members, and staff review."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.auth.exceptions import DuplicateEmail, WeakPassword
from portal.auth.forms import ConfirmForm
from portal.auth.models import User
from portal.auth.permissions import Permission
from portal.auth.services import invitation_expires_at
from portal.auth.views import password_errors, sign_in
from portal.companies import queries, services
from portal.companies.exceptions import (
    DuplicateCompany,
    IllegalTransition,
    InvitationAccepted,
    NothingToResubmit,
)
from portal.companies.forms import (
    CompanyDetailsForm,
    CompanyRegistrationForm,
    InviteMemberForm,
    RejectCompanyForm,
    ResubmitCompanyForm,
)
from portal.companies.models import Company, CompanyStatus
from portal.db import utcnow
from portal.extensions import db
from portal.security import load_owned, require

bp = Blueprint("companies", __name__)


def _details(form: CompanyDetailsForm) -> services.CompanyDetails:
    """The details as typed; the service puts the numbers in their stored form."""
    return services.CompanyDetails(
        legal_name=form.legal_name.data,
        nib=form.nib.data,
        npwp=form.npwp.data,
        address=form.address.data,
        sector=form.sector.data,
        contact_name=form.contact_name.data,
        contact_phone=form.contact_phone.data,
    )


def _mark_duplicate(form: CompanyDetailsForm, error: DuplicateCompany) -> None:
    field = form.nib if error.field == "nib" else form.npwp
    field.errors = [
        gettext(
            "This number is registered already. If it is your company, ask its owner to invite you."
        )
    ]


@bp.route("/companies/register", methods=["GET", "POST"])
def register():  # type: ignore[no-untyped-def]
    form = CompanyRegistrationForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("companies/register.html", form=form), status
    try:
        _company, owner = services.register_company(
            _details(form), form.owner_email.data, form.contact_name.data, form.password.data
        )
    except DuplicateCompany as error:
        _mark_duplicate(form, error)
    except DuplicateEmail:
        form.owner_email.errors = [gettext("An account with this e-mail exists already.")]
    except WeakPassword as error:
        form.password.errors = password_errors(error)
    else:
        sign_in(owner)
        flash(
            gettext(
                "Thank you. Your company is registered and waits for verification by "
                "Disnaker Kota Semarang; we will e-mail you."
            ),
            "success",
        )
        return redirect(url_for("companies.mine"))
    db.session.rollback()
    return render_template("companies/register.html", form=form), 400


@bp.get("/company")
@require(Permission.COMPANY_VIEW_OWN)
def mine():  # type: ignore[no-untyped-def]
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)
    return render_template("companies/mine.html", company=company)


@bp.route("/company/<int:company_id>/resubmit", methods=["GET", "POST"])
@require(Permission.COMPANY_EDIT_OWN)
def resubmit(company_id: int):  # type: ignore[no-untyped-def]
    """A rejected company corrects its details and goes back to the review queue."""
    company = load_owned(Company, company_id, Permission.COMPANY_EDIT_OWN)
    if company.status != CompanyStatus.REJECTED:
        flash(gettext("Only a rejected registration can be corrected and sent again."), "info")
        return redirect(url_for("companies.mine"))
    form = ResubmitCompanyForm(obj=company)
    if form.validate_on_submit():
        try:
            services.resubmit_company(company, _details(form), current_user, form.note.data or "")
        except DuplicateCompany as error:
            _mark_duplicate(form, error)
        except NothingToResubmit:
            form.note.errors = [
                gettext("Nothing was changed: correct a detail or explain what you did.")
            ]
        else:
            db.session.commit()
            flash(
                gettext("Thank you. Your corrected registration is back with Disnaker for review."),
                "success",
            )
            return redirect(url_for("companies.mine"))
        db.session.rollback()
    status = 400 if request.method == "POST" else 200
    return render_template("companies/resubmit.html", company=company, form=form), status


def _members_page(company: Company, form: InviteMemberForm, status: int = 200):  # type: ignore[no-untyped-def]
    members = queries.company_members(company)
    return render_template(
        "companies/members.html",
        company=company,
        members=members,
        form=form,
        resend_form=ConfirmForm(),
        expires={m.id: invitation_expires_at(m) for m in members if not m.password_hash},
        now=utcnow(),
    ), status


@bp.get("/company/members")
@require(Permission.COMPANY_VIEW_OWN)
def members():  # type: ignore[no-untyped-def]
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)
    return _members_page(company, InviteMemberForm())


@bp.post("/company/members/<int:user_id>/invitation")
@require(Permission.COMPANY_MANAGE_MEMBERS)
def resend_invitation(user_id: int):  # type: ignore[no-untyped-def]
    """A new invitation link for a colleague who has not set a password; the old one dies."""
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_MANAGE_MEMBERS)
    member = load_owned(User, user_id, Permission.COMPANY_MANAGE_MEMBERS)
    if ConfirmForm().validate_on_submit():
        try:
            services.resend_invitation(company, member, actor=current_user)
        except InvitationAccepted:
            flash(
                gettext("%(email)s has accepted the invitation already.", email=member.email),
                "warning",
            )
        else:
            db.session.commit()
            flash(
                gettext(
                    "A new invitation was sent to %(email)s; the earlier link no longer works.",
                    email=member.email,
                ),
                "success",
            )
    return redirect(url_for("companies.members"))


@bp.post("/company/members")
@require(Permission.COMPANY_MANAGE_MEMBERS)
def invite():  # type: ignore[no-untyped-def]
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_MANAGE_MEMBERS)
    form = InviteMemberForm()
    if form.validate_on_submit():
        try:
            member = services.invite_member(
                company, form.email.data, form.full_name.data, actor=current_user
            )
        except DuplicateEmail:
            form.email.errors = [gettext("An account with this e-mail exists already.")]
        else:
            db.session.commit()
            flash(gettext("Invitation sent to %(email)s.", email=member.email), "success")
            return redirect(url_for("companies.members"))
    return _members_page(company, form, 400)


@bp.get("/staff/companies")
@require(Permission.COMPANY_LIST)
def review_queue():  # type: ignore[no-untyped-def]
    return render_template(
        "companies/queue.html",
        pending=queries.pending_companies(),
        others=queries.reviewed_companies(),
    )


def _detail_page(company: Company, reject_form: RejectCompanyForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "companies/detail.html",
        company=company,
        members=queries.company_members(company),
        resubmission=queries.latest_resubmission(company) if company.resubmitted else None,
        verify_form=ConfirmForm(),
        reject_form=reject_form,
    ), status


@bp.get("/staff/companies/<int:company_id>")
@require(Permission.COMPANY_LIST)
def detail(company_id: int):  # type: ignore[no-untyped-def]
    company = load_owned(Company, company_id, Permission.COMPANY_LIST)
    return _detail_page(company, RejectCompanyForm())


@bp.post("/staff/companies/<int:company_id>/verify")
@require(Permission.COMPANY_REVIEW)
def verify(company_id: int):  # type: ignore[no-untyped-def]
    company = load_owned(Company, company_id, Permission.COMPANY_REVIEW)
    if ConfirmForm().validate_on_submit():
        try:
            services.verify_company(company, actor=current_user)
        except IllegalTransition:
            flash(gettext("This company was reviewed already."), "warning")
        else:
            db.session.commit()
            flash(
                gettext(
                    "%(name)s is verified; the owner was told by e-mail.", name=company.legal_name
                ),
                "success",
            )
    return redirect(url_for("companies.detail", company_id=company.id))


@bp.post("/staff/companies/<int:company_id>/reject")
@require(Permission.COMPANY_REVIEW)
def reject(company_id: int):  # type: ignore[no-untyped-def]
    company = load_owned(Company, company_id, Permission.COMPANY_REVIEW)
    form = RejectCompanyForm()
    if not form.validate_on_submit():
        return _detail_page(company, form, 400)
    try:
        services.reject_company(company, actor=current_user, reason=form.reason.data)
    except IllegalTransition:
        flash(gettext("This company was reviewed already."), "warning")
    else:
        db.session.commit()
        flash(
            gettext("%(name)s is rejected; the owner was told why.", name=company.legal_name),
            "info",
        )
    return redirect(url_for("companies.detail", company_id=company.id))
