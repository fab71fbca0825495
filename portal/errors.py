"""Domain exceptions and HTTP errors mapped to pages, in one place."""

from __future__ import annotations

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.audit.services import record_event
from portal.extensions import db

_TITLES = {
    400: _l("Bad request"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    413: _l("File too large"),
    429: _l("Too many attempts; wait a minute and try again"),
    500: _l("Something went wrong"),
    503: _l("The database is not answering; try again in a few seconds"),
}
RETRY_AFTER_SECONDS = 5


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        return _render(
            400,
            gettext("The form expired or was sent from elsewhere. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        code = error.code or 500
        if code == 403:
            _audit_refusal()
        return _render(code, None)

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError):  # type: ignore[no-untyped-def]
        """A connection the database dropped in the middle of a read is replaced and the
        read runs once more; a database that does not answer is a 503 with a retry hint,
        never a traceback. Any other database error is unexpected."""
        unavailable = isinstance(error, OperationalError | InterfaceError)
        if not (error.connection_invalidated or unavailable):
            return _unexpected(error)
        _rollback_quietly()
        reading = request.method in ("GET", "HEAD")
        if error.connection_invalidated and reading and not g.get("database_retried"):
            g.database_retried = True
            app.logger.warning("database connection lost; %s read again", request.path)
            try:
                return app.make_response(app.dispatch_request())
            except DBAPIError:
                _rollback_quietly()
        app.logger.warning("database unavailable: %s", type(error.orig).__name__)
        response = make_response(_render(503, None))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if app.testing:
            raise error
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _render(500, None)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except DBAPIError:  # the connection is gone: the pool replaces it on the next checkout
        db.session.close()


def _audit_refusal() -> None:
    try:
        record_event("auth.permission_refused", after={"path": request.path[:200]})
        db.session.commit()
    except Exception:  # noqa: BLE001 - a failed audit write must not hide the 403
        db.session.rollback()


def _render(code: int, message: str | None):  # type: ignore[no-untyped-def]
    title = str(_TITLES.get(code, _l("Error")))
    wants_json = request.accept_mimetypes.best == "application/json"
    if request.path.startswith(("/healthz", "/api/")) or wants_json:
        return jsonify({"error": title, "status": code}), code
    return render_template("errors/error.html", code=code, title=title, message=message), code
