"""Paying a pledge (Stripe Checkout or transfer), the Stripe webhook, documents as PDFs."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission, can
from portal.companies.models import Company
from portal.extensions import csrf, db, login_manager
from portal.i18n import current_locale
from portal.payments import outbound, services
from portal.payments.documents import (
    BankDetails,
    render_invoice_pdf,
    render_receipt_pdf,
    render_refund_pdf,
)
from portal.payments.exceptions import AmountNotAllowed, GatewayError, InvalidWebhook
from portal.payments.models import STRIPE_WORK, Document, DocumentKind, Payment, Refund
from portal.payments.stripe_gateway import gateway
from portal.payments.webhooks import event_recorded, handle_stripe_event
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition
from portal.pledges.models import Pledge
from portal.regions.models import Region
from portal.regions.scope import region_scope
from portal.security import load_owned, require

bp = Blueprint("payments", __name__)


@bp.post("/payments/stripe/webhook")
@csrf.exempt
def stripe_webhook():  # type: ignore[no-untyped-def]
    """Signature checked on the raw body; the event id is stored before anything is done.
    Refunds or expiries the event makes necessary go to Stripe after the commit."""
    try:
        event = gateway().construct_event(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
    except InvalidWebhook:
        return jsonify({"error": "invalid signature"}), 400
    try:
        handled = handle_stripe_event(event)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not event_recorded(event["id"]):
            raise  # not a twin delivery: answer 500, so that Stripe delivers it again
        return jsonify({"received": True, "outcome": "duplicate"})
    except (KeyError, TypeError, ValueError):
        db.session.rollback()  # signed, but not an event we can read: retrying cannot help
        return jsonify({"error": "malformed event"}), 400
    if handled.region_code is not None and db.session.info.pop(STRIPE_WORK, False):
        with region_scope(handled.region_code):
            outbound.sync_stripe(handled.pledge_id)
    return jsonify({"received": True, "outcome": handled.outcome})


@bp.post("/pledges/<int:pledge_id>/pay/stripe")
@require(Permission.PLEDGE_MANAGE)
def pay_stripe(pledge_id: int):  # type: ignore[no-untyped-def]
    """Void the pledge's other attempts, then open a Checkout Session with no transaction
    open (Stripe may deliver a webhook meanwhile), then keep the session."""
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        payment = services.prepare_card_payment(
            pledge,
            db.session.get_one(Company, pledge.company_id),
            current_user,
            allowed=gateway().allows(services.outstanding(pledge)),
        )
    except AmountNotAllowed:
        flash(gettext("This amount cannot be paid by card; pay by bank transfer."), "warning")
        return redirect(url_for("pledges.detail", pledge_id=pledge_id))
    except (CompanyNotVerified, IllegalPledgeTransition):
        flash(gettext("This pledge cannot be paid now."), "warning")
        return redirect(url_for("pledges.detail", pledge_id=pledge_id))
    params = _checkout_params(payment, pledge)
    outbound.sync_stripe(pledge_id)  # commits; the attempts voided above expire at Stripe
    try:
        session = outbound.open_checkout(params)
    except (AmountNotAllowed, GatewayError) as error:
        flash(gettext("The card payment could not start: %(why)s", why=str(error)), "danger")
        return redirect(url_for("pledges.detail", pledge_id=pledge_id))
    current = db.session.get_one(Payment, payment.id)
    if not services.record_checkout_session(current, session.id, session.url):
        outbound.sync_stripe(pledge_id)  # another tab started a payment meanwhile
        flash(gettext("Another payment of this pledge was started meanwhile."), "warning")
        return redirect(url_for("pledges.detail", pledge_id=pledge_id))
    db.session.commit()
    return redirect(session.url, code=303)


def _checkout_params(payment: Payment, pledge: Pledge) -> dict[str, object]:
    base = current_app.config["PUBLIC_BASE_URL"]
    whole = payment.amount == pledge.price_total
    return {
        "amount": payment.amount,
        "quantity": pledge.worker_months if whole else 1,
        "name": (
            f"PIJAR SEMAR: {pledge.workers} pekerja x {pledge.months} bulan "
            f"(komitmen #{pledge.id})" + ("" if whole else " - kekurangan")
        ),
        "metadata": {
            "portal": services.METADATA_MARK,
            "pledge_id": str(pledge.id),
            "payment_id": str(payment.id),
        },
        "success_url": base + url_for("payments.returned", pledge_id=pledge.id),
        "cancel_url": base + url_for("pledges.detail", pledge_id=pledge.id),
        "idempotency_key": payment.idempotency_key,
        "reference": payment.reference,
    }


@bp.post("/pledges/<int:pledge_id>/pay/transfer")
@require(Permission.PLEDGE_MANAGE)
def pay_transfer(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.start_bank_transfer(
            pledge, db.session.get_one(Company, pledge.company_id), current_user
        )
    except (CompanyNotVerified, IllegalPledgeTransition):
        flash(gettext("This pledge cannot be paid now."), "warning")
    else:
        outbound.sync_stripe(pledge_id)  # commits; open card sessions expire at Stripe
        flash(
            gettext(
                "Your invoice is ready. Transfer the exact amount with the reference "
                "in the description."
            ),
            "success",
        )
    return redirect(url_for("pledges.detail", pledge_id=pledge_id))


@bp.get("/pledges/<int:pledge_id>/paid")
@require(Permission.PLEDGE_VIEW)
def returned(pledge_id: int):  # type: ignore[no-untyped-def]
    """Where Stripe Checkout sends the sponsor back; the webhook decides what is paid."""
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_VIEW)
    return render_template("payments/returned.html", pledge=pledge)


@bp.get("/documents/<int:document_id>.pdf")
def document_pdf(document_id: int):  # type: ignore[no-untyped-def]
    """The company's own documents for its users; every document for payment staff."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    document = db.session.get(Document, document_id)
    if document is None or not _may_read(document):
        abort(404)
    payment = db.session.get_one(Payment, document.payment_id)
    pledge = db.session.get_one(Pledge, payment.pledge_id)
    company = db.session.get_one(Company, document.company_id)
    if document.kind == DocumentKind.INVOICE:
        body = render_invoice_pdf(
            document,
            payment,
            pledge,
            company,
            BankDetails.of_region(db.session.get(Region, pledge.region_code), current_app.config),
            current_locale(),
        )
    elif document.kind == DocumentKind.REFUND:
        refund = db.session.get_one(Refund, document.refund_id)
        body = render_refund_pdf(document, refund, payment, pledge, company, current_locale())
    else:
        body = render_receipt_pdf(document, payment, pledge, company, current_locale())
    name = document.serial.replace("/", "-")
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _may_read(document: Document) -> bool:
    return can(current_user, Permission.PAYMENT_MANAGE) or can(
        current_user, Permission.PLEDGE_VIEW, document
    )
