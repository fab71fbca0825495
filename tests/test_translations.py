"""The Indonesian catalog is complete, in step with the code, and what visitors see by default.

When a test here fails after you added or changed a user-facing string: run `make messages`,
translate the new entries in portal/translations/id/LC_MESSAGES/messages.po (no `#, fuzzy`,
same `%(name)s` placeholders), then `make translations`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask

from tests.conftest import csrf_token, english

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALES = ("id", "en")
# The same keywords as `make messages`: Babel's defaults plus `-k _l -k lazy_gettext -k _m`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "_m": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]")
FIX = "run `make messages`, translate the entries in id/messages.po, then `make translations`"


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def texts(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    """Singular and plural forms of a msgid or msgstr as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [text for text in value if text is not None]


def placeholders(value: str | tuple[str, ...] | list[str] | None) -> set[str]:
    return {name for text in texts(value) for name in PLACEHOLDER.findall(text)}


def entries(catalog: Catalog) -> list[Message]:
    """Every message but the header."""
    return [message for message in catalog if message.id]


def translation(catalog: Catalog, msgid: str) -> str:
    message = catalog.get(msgid)
    assert message is not None, f"{msgid!r} is not in the catalog"
    assert isinstance(message.string, str) and message.string, f"{msgid!r} is not translated"
    return message.string


def label(message: Message) -> str:
    return repr(texts(message.id)[0])


def extracted_from_code() -> set[tuple[str, str | None]]:
    """(msgid, msgctxt) of every string `pybabel extract -F babel.cfg` finds in the code."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(ROOT / "babel.cfg"))
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add((texts(message)[0], context))
    return found


def compile_if_stale(locale: str) -> bool:
    """Write messages.mo from messages.po, as `pybabel compile` does, if it is missing or older."""
    po = po_path(locale)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return False
    catalog = load(po)
    assert not catalog.fuzzy, f"{po} is marked fuzzy; `pybabel compile` would skip it"
    partial = mo.with_name(f".{mo.name}.{os.getpid()}")
    with partial.open("wb") as handle:
        write_mo(handle, catalog)
    os.replace(partial, mo)
    return True


@pytest.fixture(scope="session")
def compiled_catalogs(app: Flask) -> Iterator[None]:
    """The .mo files exist and match the .po files (they are gitignored; `make` compiles them)."""
    compiled = [locale for locale in LOCALES if compile_if_stale(locale)]
    if compiled:
        # Requests made before compiling cached empty translations; forget them.
        app.extensions["babel"].instance.domain_instance.cache.clear()
    yield


@pytest.fixture(scope="module")
def id_catalog() -> Catalog:
    return load(po_path("id"))


# ---------------------------------------------------------------------------- the catalog itself


def test_indonesian_catalog_header_is_indonesian_without_plurals(id_catalog: Catalog) -> None:
    assert str(id_catalog.locale) == "id"
    assert id_catalog.num_plurals == 1
    assert id_catalog.plural_expr == "0"
    assert not id_catalog.fuzzy


def test_every_indonesian_message_is_translated(id_catalog: Catalog) -> None:
    assert entries(id_catalog), "the Indonesian catalog is empty"
    untranslated = [
        label(m)
        for m in entries(id_catalog)
        if not texts(m.string) or not all(s.strip() for s in texts(m.string))
    ]
    assert not untranslated, f"untranslated in id/messages.po ({FIX}): {untranslated}"


def test_no_indonesian_message_is_fuzzy(id_catalog: Catalog) -> None:
    fuzzy = [label(m) for m in entries(id_catalog) if m.fuzzy]
    assert not fuzzy, f"fuzzy in id/messages.po (check, then remove `#, fuzzy`): {fuzzy}"


def test_indonesian_messages_keep_the_placeholders_of_their_msgid(id_catalog: Catalog) -> None:
    wrong = {
        label(m): (sorted(placeholders(m.id)), sorted(placeholders(m.string)))
        for m in entries(id_catalog)
        if placeholders(m.id) != placeholders(m.string)
    }
    assert not wrong, f"placeholders differ (msgid, msgstr): {wrong}"


def test_babel_reports_no_errors_in_the_catalogs() -> None:
    for locale in LOCALES:
        catalog = load(po_path(locale))
        problems = [(label(m), [str(e) for e in errors]) for m, errors in catalog.check()]
        assert not problems, f"{locale}/messages.po: {problems}"


def test_english_catalog_is_updated_and_falls_back_to_the_msgids() -> None:
    catalog = load(po_path("en"))
    assert str(catalog.locale) == "en"
    assert not catalog.fuzzy
    assert not [label(m) for m in entries(catalog) if m.fuzzy]
    # Empty msgstr shows the English msgid; a filled one must keep its placeholders.
    wrong = [
        label(m)
        for m in entries(catalog)
        if any(texts(m.string)) and placeholders(m.id) != placeholders(m.string)
    ]
    assert not wrong
    ids = {(texts(m.id)[0], m.context) for m in entries(catalog)}
    assert ids == {(texts(m.id)[0], m.context) for m in entries(load(po_path("id")))}


# ------------------------------------------------------------------------ in step with the code


def test_every_string_in_the_code_is_in_the_template_and_the_indonesian_catalog(
    id_catalog: Catalog,
) -> None:
    in_code = extracted_from_code()
    assert ("How to sponsor", None) in in_code, "extraction found nothing; check babel.cfg"
    template = load(POT)
    missing_pot = sorted(
        msgid for msgid, context in in_code if template.get(msgid, context=context) is None
    )
    missing_id = sorted(
        msgid for msgid, context in in_code if id_catalog.get(msgid, context=context) is None
    )
    assert not missing_pot, f"messages.pot is out of date ({FIX}): {missing_pot}"
    assert not missing_id, f"not in id/messages.po ({FIX}): {missing_id}"


def test_catalog_holds_no_strings_the_code_no_longer_uses(id_catalog: Catalog) -> None:
    in_code = extracted_from_code()
    stale = sorted(
        texts(m.id)[0] for m in entries(id_catalog) if (texts(m.id)[0], m.context) not in in_code
    )
    assert not stale, f"strings no longer in the code ({FIX}): {stale}"


# --------------------------------------------------------------------------- what visitors see


@pytest.mark.usefixtures("compiled_catalogs")
def test_landing_page_is_in_indonesian_by_default(app: Flask, id_catalog: Catalog) -> None:
    how_to_sponsor = translation(id_catalog, "How to sponsor")
    headline = translation(id_catalog, "Protect informal workers")
    assert how_to_sponsor != "How to sponsor"

    html = app.test_client().get("/").get_data(as_text=True)

    assert '<html lang="id">' in html
    assert how_to_sponsor in html
    assert headline in html
    assert "Cara menjadi sponsor" in html
    assert "How to sponsor" not in html
    assert "Register your company" not in html
    assert "Log in" not in html


@pytest.mark.usefixtures("compiled_catalogs")
def test_landing_page_is_in_english_when_chosen(app: Flask) -> None:
    html = english(app.test_client()).get("/").get_data(as_text=True)

    assert '<html lang="en">' in html
    assert "How to sponsor" in html
    assert "Cara menjadi sponsor" not in html


@pytest.mark.usefixtures("compiled_catalogs")
def test_lazy_labels_in_python_code_are_translated(app: Flask) -> None:
    from portal.labels import label as code_label

    # A fresh app context for each: the locale is cached on it for the request.
    with app.app_context(), app.test_request_context("/"):
        assert code_label("pending") == "Menunggu verifikasi"
        assert code_label("apbd") == "Anggaran kota (APBD)"
    with app.app_context(), app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert code_label("pending") == "Pending verification"


def test_form_messages_of_wtforms_are_in_indonesian(actors, logged_in) -> None:
    """WTForms ships no Indonesian: its messages come from the portal's catalogue; and a 0 or
    2.5 in a number field says what is wrong with it, not that the field is empty."""
    client = logged_in(actors.owner)
    client.set_cookie("lang", "id")
    token = csrf_token(client, "/pledges/new")
    page = client.post(
        "/pledges/new",
        data={"csrf_token": token, "workers": "0", "months": "2.5", "preview": "1"},
    ).get_data(as_text=True)
    for message in (
        "Number must be between",
        "Not a valid integer value.",
        "This field is required.",
    ):
        assert message not in page
    catalog = load(po_path("id"))
    assert (
        catalog.get("Number must be between %(min)s and %(max)s.")
        .string.replace("%(min)s", "1")
        .replace("%(max)s", "100000")
        in page
    )
    assert catalog.get("Not a valid integer value.").string in page
