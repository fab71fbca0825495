"""The page checks of the browser journeys find what they are for (tests/e2e/pages.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import pages

pytestmark = pytest.mark.e2e

HEAD = '<!doctype html><html lang="id"><head><meta charset="utf-8"><title>Uji</title></head>'


def _page(live_server: str, path: str, body: str) -> pages.Page:
    return pages.Page(f"{live_server}{path}", f"{HEAD}<body><main>{body}</main></body></html>")


@pytest.fixture
def tools() -> None:
    missing = pages.tools_missing()
    if missing:
        pytest.fail(f"page checks need {', '.join(missing)}: run `make test`", pytrace=False)


def test_the_html_checker_reports_duplicate_ids_and_bad_selects(
    live_server: str, tools: None
) -> None:
    good = _page(live_server, "/good", "<p>Baik.</p>")
    bad = _page(
        live_server,
        "/bad",
        '<p id="a">x</p><p id="a">y</p>'
        '<select name="m" required><option value="1">Januari</option></select>',
    )
    problems = pages.html_errors([good, bad])
    assert len(problems) == 2, problems
    assert all(problem.startswith(f"{live_server}/bad line 1:") for problem in problems)
    assert any("Duplicate ID" in problem for problem in problems)


def test_axe_finds_low_contrast_and_a_phone_page_that_scrolls_sideways(
    browser: Any, live_server: str, tools: None, tmp_path: Any
) -> None:
    faint = _page(live_server, "/faint", '<p style="color:#91b6a7;background:#0b5d3b">Pudar</p>')
    wide = _page(live_server, "/wide", '<div style="width:600px">Lebar</div>')
    fine = _page(live_server, "/fine", "<p>Terbaca.</p>")
    context = browser.new_context(base_url=live_server)
    try:
        problems = pages.accessibility_problems(context, [faint, wide, fine], tmp_path)
    finally:
        context.close()
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{live_server}/faint: axe color-contrast (serious)")
    assert problems[1].startswith(f"{live_server}/wide: scrolls sideways by 218px at 390 px")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "page-000-desktop.png",
        "page-000-phone.png",
        "page-001-desktop.png",
        "page-001-phone.png",
    ]


def test_english_on_an_indonesian_page_is_found() -> None:
    html = (
        f"{HEAD}<body><p>This field is required.</p><p>2027-01 is closed for the sponsor</p>"
        '<p>Komitmen ini tidak dapat dibuat.</p><p lang="en">English</p>'
        "<p>PT Bandeng Presto Juwana</p><td data-as-entered>The shop on the corner</td>"
        "<script>var is = 'the';</script></body></html>"
    )
    assert pages.english_texts(html) == [
        "This field is required.",
        "2027-01 is closed for the sponsor",
    ]
    assert pages.english_texts(html.replace('lang="id"', 'lang="en"', 1)) == []
