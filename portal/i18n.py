"""Locale choice and Indonesian-first formatting of money, numbers and dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import flask_babel
from babel.dates import format_date
from babel.numbers import format_decimal
from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField
from wtforms.csrf.core import CSRFTokenField
from wtforms.meta import DefaultMeta


def select_locale() -> str:
    """The visitor's chosen language, else Indonesian (never guessed from the browser).
    Outside a request (the command line, jobs) text is English; e-mails and documents for
    people choose their language themselves (`force_locale`)."""
    if not has_request_context():
        return "en"
    chosen = session.get("lang") or request.cookies.get("lang")
    return chosen if chosen is not None and chosen in current_app.config["LANGUAGES"] else "id"


def current_locale() -> str:
    return str(get_locale() or "id")


def rupiah(amount: int | None, locale: str | None = None) -> str:
    """Rp16.800 in Indonesian, Rp16,800 in English; whole rupiah, never decimals."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp{format_decimal(abs(int(amount)), locale=locale or current_locale())}"


def number(value: int | str | None, locale: str | None = None) -> str:
    """A count in the locale's digits; text (a suppressed "<5") is shown as it is."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return format_decimal(int(value), locale=locale or current_locale())


def long_date(value: date | None, locale: str | None = None) -> str:
    if value is None:
        return "–"
    return format_date(value, format="long", locale=locale or current_locale())


def month_label(value: date, locale: str | None = None) -> str:
    return format_date(value, format="MMMM y", locale=locale or current_locale())


class FormTranslations:
    """WTForms' and Flask-WTF's own messages through the portal's catalogue: WTForms ships no
    Indonesian. Indonesian has no plural forms, so a singular and a plural message are two
    entries of the catalogue."""

    def gettext(self, string: str) -> str:
        return str(flask_babel.gettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


FORM_TRANSLATIONS = FormTranslations()


def translate_forms() -> None:
    """Every Flask-WTF form asks the portal's catalogue, and renders its CSRF token without an
    id, so that several forms on one page keep their ids unique (set once, at app start)."""
    FlaskForm.Meta.get_translations = _form_translations  # type: ignore[method-assign]
    FlaskForm.Meta.render_field = _render_field  # type: ignore[method-assign]


def _form_translations(meta: Any, form: Any) -> FormTranslations:
    return FORM_TRANSLATIONS


def _render_field(meta: Any, field: Any, render_kw: dict[str, Any]) -> Any:
    if isinstance(field, CSRFTokenField):
        render_kw = {"id": False, **render_kw}
    elif isinstance(field, SelectField) and not isinstance(field, SelectMultipleField):
        # A select whose first option has a value always sends one: HTML allows `required`
        # only with an empty first option, and the server validates the choice anyway.
        choices = field.choices if isinstance(field.choices, list) else []
        first = choices[0] if choices else None
        value = first[0] if isinstance(first, tuple) else first
        if first is not None and str(value) != "":
            render_kw = {"required": False, **render_kw}
    return DefaultMeta.render_field(meta, field, render_kw)


# WTForms' and Flask-WTF's messages, here so that the catalogue extraction finds them.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Field must be at least %(min)d character long."),
    _l("Field must be at least %(min)d characters long."),
    _l("Field cannot be longer than %(max)d character."),
    _l("Field cannot be longer than %(max)d characters."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Field must be exactly %(max)d character long."),
    _l("Field must be exactly %(max)d characters long."),
    _l("Field must be equal to %(other_name)s."),
    _l("Invalid value, must be one of: %(values)s."),
    _l("The CSRF token is missing."),
    _l("The CSRF token is invalid."),
    _l("The CSRF token has expired."),
    _l("The CSRF tokens do not match."),
)
