"""Locale choice and Indonesian-first formatting of money, numbers and dates."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import current_app, request, session
from flask_babel import get_locale


def select_locale() -> str:
    """The visitor's chosen language, else Indonesian (never guessed from the browser)."""
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
