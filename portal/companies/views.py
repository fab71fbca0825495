"""Company registration, the sponsor's own company page, members, and staff review."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.auth.exceptions import DuplicateEmail, WeakPassword
from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.auth.views import password_errors, sign_in
from portal.companies import queries, services
from portal.companies.exceptions import DuplicateCompany, IllegalTransition
from portal.companies.forms import CompanyRegistrationForm, InviteMemberForm, RejectCompanyForm
from portal.companies.models import Company
from portal.extensions import db
from portal.security import load_owned, require

bp = Blueprint("companies", __name__)


@bp.route("/companies/register", methods=["GET", "POST"])
def register():  # type: ignore[no-untyped-def]
    form = CompanyRegistrationForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("companies/register.html", form=form), status
    details = services.CompanyDetails(
        legal_name=form.legal_name.data.strip(),
        nib=form.nib.data,
        npwp=form.npwp.data,
        address=form.address.data.strip(),
        sector=form.sector.data,
        contact_name=form.contact_name.data.strip(),
        contact_phone=form.contact_phone.data.strip(),
    )
    try:
        _company, owner = services.register_company(
            details, form.owner_email.data, form.contact_name.data, form.password.data
        )
    except DuplicateCompany as error:
        field = form.nib if error.field == "nib" else form.npwp
        field.errors = [
            gettext(
                "This number is registered already. If it is your company, "
                "ask its owner to invite you."
            )
        ]
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


@bp.get("/company/members")
@require(Permission.COMPANY_VIEW_OWN)
def members():  # type: ignore[no-untyped-def]
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)
    return render_template(
        "companies/members.html",
        company=company,
        members=queries.company_members(company),
        form=InviteMemberForm(),
    )


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
    return render_template(
        "companies/members.html",
        company=company,
        members=queries.company_members(company),
        form=form,
    ), 400


@bp.get("/staff/companies")
@require(Permission.COMPANY_LIST)
def review_queue():  # type: ignore[no-untyped-def]
    return render_template(
        "companies/queue.html",
        pending=queries.pending_companies(),
        others=queries.reviewed_companies(),
    )


@bp.get("/staff/companies/<int:company_id>")
@require(Permission.COMPANY_LIST)
def detail(company_id: int):  # type: ignore[no-untyped-def]
    company = load_owned(Company, company_id, Permission.COMPANY_LIST)
    return render_template(
        "companies/detail.html",
        company=company,
        members=queries.company_members(company),
        verify_form=ConfirmForm(),
        reject_form=RejectCompanyForm(),
    )


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
        return render_template(
            "companies/detail.html",
            company=company,
            members=queries.company_members(company),
            verify_form=ConfirmForm(),
            reject_form=form,
        ), 400
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
