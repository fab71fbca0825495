"""The register_* steps create_app() runs: extensions, blueprints, hooks, helpers, errors, CLI."""

from __future__ import annotations

import flask_babel
from flask import Flask, g, request, session
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

import portal.models  # noqa: F401  (every table joins the metadata)
from config import BASE_DIR
from portal import errors, i18n, messages
from portal.audit.views import bp as audit_bp
from portal.auth.models import Role
from portal.auth.permissions import Permission, can
from portal.auth.services import load_session_user
from portal.auth.views import bp as auth_bp
from portal.certificates import handlers as certificate_handlers  # noqa: F401  (subscribes)
from portal.certificates.views import bp as certificates_bp
from portal.claims.views import bp as claims_bp
from portal.cli import register_commands
from portal.companies.views import bp as companies_bp
from portal.coverage import handlers as coverage_handlers  # noqa: F401  (subscribes)
from portal.coverage.views import bp as coverage_bp
from portal.db import start_request
from portal.extensions import (
    babel,
    bootstrap,
    csrf,
    db,
    limiter,
    login_manager,
    mail,
    migrate,
    talisman,
)
from portal.jobs import init_jobs
from portal.jobs_views import bp as jobs_bp
from portal.labels import action_label, label
from portal.ledger.views import bp as ledger_bp
from portal.matching import handlers as matching_handlers  # noqa: F401  (subscribes)
from portal.matching.views import bp as matching_bp
from portal.payments import handlers as payment_handlers  # noqa: F401  (subscribes)
from portal.payments import (  # noqa: F401  (the staff money pages, the sponsor's decisions)
    issue_views,
    staff_views,
    unused_views,
)
from portal.payments.views import bp as payments_bp
from portal.pledges.views import bp as pledges_bp
from portal.privacy.views import bp as privacy_bp
from portal.public.views import bp as public_bp
from portal.queue.views import bp as queue_bp
from portal.regions.national import bp as national_bp
from portal.regions.scope import ALL, leave_served_regions, serve_region
from portal.regions.views import bp as regions_bp
from portal.reports.views import bp as reports_bp
from portal.workers import import_views  # noqa: F401  (adds the import pages to workers)
from portal.workers.views import bp as workers_bp

CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _csp(app: Flask) -> dict[str, object]:
    """Forms may lead to Stripe Checkout (or, without Stripe keys, to the loopback sandbox)."""
    checkout = (
        "https://checkout.stripe.com"
        if app.config.get("STRIPE_SECRET_KEY")
        else "http://127.0.0.1:*"
    )
    return {**CSP, "form-action": ["'self'", checkout]}


def extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.translate_forms()
    limiter.init_app(app)
    mail.init_app(app)
    bootstrap.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=_csp(app),
        referrer_policy="strict-origin-when-cross-origin",
        frame_options="DENY",
    )
    if app.config.get("FORCE_HTTPS"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    _login(app)
    init_jobs(app)


def _login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # type: ignore[assignment]
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)


def blueprints(app: Flask) -> None:
    for bp in (
        public_bp,
        auth_bp,
        companies_bp,
        workers_bp,
        privacy_bp,
        pledges_bp,
        payments_bp,
        audit_bp,
        matching_bp,
        coverage_bp,
        ledger_bp,
        claims_bp,
        certificates_bp,
        reports_bp,
        jobs_bp,
        queue_bp,
        regions_bp,
        national_bp,
    ):
        app.register_blueprint(bp)


def request_hooks(app: Flask) -> None:
    @app.before_request
    def _read_only_or_not() -> None:  # first: before anything queries the database
        start_request(app.view_functions.get(request.endpoint or ""), request.method)

    @app.before_request
    def _remember_language() -> None:
        g.locale = i18n.select_locale()

    @app.before_request
    def _serve_the_users_region() -> None:
        # A staff member, admin or auditor works in their region: every query of the request
        # keeps to it (regions.scope). Sponsors are national: their requests read their
        # company's rows in every region, and narrow to a pledge's region when they act on
        # one (security.load_owned). A national user reads every region.
        region = getattr(current_user, "region_code", None)
        if region:
            serve_region(region)
        elif (
            getattr(current_user, "company_id", None) is not None
            or getattr(current_user, "role", None) == Role.NATIONAL
        ):
            serve_region(ALL)

    @app.teardown_request
    def _leave_the_region(_error: BaseException | None) -> None:
        leave_served_regions()

    @app.teardown_request
    def _forget_language(_error: BaseException | None) -> None:
        # The request's language ends with it: an app context that outlives the request (a
        # job, the command line, a test) speaks English again (`i18n.select_locale`).
        flask_babel.refresh()

    @app.after_request
    def _no_store_when_logged_in(response):  # type: ignore[no-untyped-def]
        if current_user.is_authenticated or request.path.startswith(("/auth", "/admin")):
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def template_helpers(app: Flask) -> None:
    app.jinja_env.filters["rupiah"] = i18n.rupiah
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["action"] = action_label
    app.jinja_env.filters["number"] = i18n.number
    app.jinja_env.filters["message"] = messages.shown
    app.jinja_env.filters["long_date"] = i18n.long_date
    app.jinja_env.filters["month_label"] = i18n.month_label

    @app.context_processor
    def _helpers() -> dict:
        return {
            "can": lambda perm, obj=None: can(current_user, Permission(perm), obj),
            "current_locale": i18n.current_locale(),
            "languages": app.config["LANGUAGES"],
            "session_lang": session.get("lang"),
        }


def error_handlers(app: Flask) -> None:
    errors.register(app)


def commands(app: Flask) -> None:
    register_commands(app)
