"""Checks run over every HTML page the browser journeys see.

Every page a journey's browser loads is recorded as the server sent it. When the journey has
passed, the pages are checked:

- the Nu HTML checker (npm `vnu-jar`, run on Debian's Java) reports no error;
- axe-core (npm `axe-core`) finds no serious or critical WCAG 2.1 A/AA violation, in Chromium,
  at desktop size;
- at phone size (390 px) the page does not scroll sideways, and at 1280 px the navigation
  holds on one line;
- an Indonesian page shows no English: no catalogue message left in English and no sentence
  made of English words.

Pages are replayed from the recorded HTML (scripts, styles and fonts come from the live
server), so a check never repeats a request that changed something.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CATALOGUE = ROOT / "portal" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_IMPACTS = {"serious", "critical"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*|(value=")[^"]*("[^>]*name="csrf_token")')


@dataclass(frozen=True)
class Page:
    url: str
    html: str


@dataclass
class Recorder:
    """Keeps each distinct HTML document the browser's top frames receive."""

    pages: list[Page] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def attach(self, context: Any) -> None:
        context.on("response", self.record)

    def record(self, response: Any) -> None:
        request = response.request
        if request.resource_type != "document" or not 200 <= response.status < 300:
            return
        if "text/html" not in (response.headers.get("content-type") or ""):
            return
        try:
            html = response.text()
        except Exception:  # noqa: BLE001 - a page left before its body was read
            return
        key = hashlib.sha256((response.url + CSRF.sub("", html)).encode()).hexdigest()
        if key not in self.seen:
            self.seen.add(key)
            self.pages.append(Page(response.url, html))


def tools_missing() -> list[str]:
    """What the checks need and this machine lacks (`make test` installs the npm packages)."""
    missing = [str(path.relative_to(ROOT)) for path in (AXE, VNU) if not path.exists()]
    if shutil.which("java") is None:
        missing.append("java (Debian's default-jre-headless)")
    return missing


def html_errors(pages: list[Page]) -> list[str]:
    """The Nu HTML checker's errors, one line each, naming the page."""
    if not pages:
        return []
    with tempfile.TemporaryDirectory() as folder:
        names = {}
        for n, page in enumerate(pages):
            path = Path(folder) / f"page-{n:03d}.html"
            path.write_text(page.html, encoding="utf-8")
            names[path.name] = page.url
        java = shutil.which("java") or "java"
        result = subprocess.run(
            [java, "-Xss4m", "-jar", str(VNU), "--format", "json", "--errors-only",
             *sorted(str(Path(folder) / name) for name in names)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        report = json.loads(result.stderr or result.stdout or '{"messages": []}')
        problems = []
        for message in report["messages"]:
            if message.get("type") not in {"error", "non-document-error"}:
                continue
            file = message.get("url", "?")
            url = names.get(file.rsplit("/", 1)[-1], file)
            line = message.get("lastLine", "?")
            extract = message.get("extract", "").strip().replace("\n", " ")
            problems.append(f"{url} line {line}: {message['message']} [{extract}]")
        return problems


def _replay(page: Any, recorded: Page) -> None:
    page.route(
        recorded.url,
        lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=recorded.html
        ),
    )
    page.goto(recorded.url, wait_until="load")
    page.unroute(recorded.url)


def accessibility_problems(context: Any, pages: list[Page], shots: Path) -> list[str]:
    """Serious and critical axe violations at desktop size; sideways scrolling on a phone;
    a navigation bar that wraps at 1280 px. A page with a problem is kept as a screenshot
    (desktop and phone) under `shots`."""
    problems: list[str] = []
    page = context.new_page()
    try:
        for n, recorded in enumerate(pages):
            before = len(problems)
            page.set_viewport_size(DESKTOP)
            _replay(page, recorded)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                " resultTypes: ['violations']})",
                AXE_TAGS,
            )
            for violation in result["violations"]:
                if violation.get("impact") not in AXE_IMPACTS:
                    continue
                targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
                problems.append(
                    f"{recorded.url}: axe {violation['id']} ({violation['impact']}) "
                    f"on {len(violation['nodes'])} element(s), e.g. {targets}: "
                    f"{violation['nodes'][0].get('failureSummary', '')[:200]}"
                )
            nav_height = page.evaluate(
                "() => { const n = document.querySelector('nav.navbar');"
                " return n ? n.getBoundingClientRect().height : 0; }"
            )
            if nav_height > 72:
                problems.append(f"{recorded.url}: the navigation wraps at 1280 px ({nav_height}px)")
            page.set_viewport_size(PHONE)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 1:
                wide = page.evaluate(
                    "w => [...document.querySelectorAll('body *')]"
                    ".filter(e => e.getBoundingClientRect().right > w + 1)"
                    ".slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
                    " + (e.className && typeof e.className === 'string'"
                    " ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))",
                    PHONE["width"],
                )
                problems.append(
                    f"{recorded.url}: scrolls sideways by {overflow}px at 390 px, e.g. {wide}"
                )
            if len(problems) > before:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"page-{n:03d}-phone.png"), full_page=True)
                page.set_viewport_size(DESKTOP)
                page.screenshot(path=str(shots / f"page-{n:03d}-desktop.png"))
    finally:
        page.close()
    return problems


# --- English on Indonesian pages -------------------------------------------------------------

# Words of English sentences that are not Indonesian words; a text with two of them, or one
# catalogue message shown untranslated, is English on an Indonesian page.
ENGLISH_WORDS = frozenset(
    [
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "this",
        "that",
        "these",
        "those",
        "must",
        "should",
        "could",
        "would",
        "will",
        "please",
        "your",
        "you",
        "our",
        "we",
        "not",
        "yes",
        "field",
        "required",
        "invalid",
        "closed",
        "open",
        "already",
        "cannot",
        "with",
        "without",
        "from",
        "into",
        "of",
        "for",
        "and",
        "or",
        "but",
        "if",
        "when",
        "than",
        "then",
        "there",
        "here",
        "which",
        "who",
        "has",
        "have",
        "had",
        "does",
        "did",
        "do",
        "can",
        "may",
        "an",
        "at",
        "by",
        "on",
        "in",
        "to",
    ]
)
WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
SKIPPED_TAGS = {"script", "style", "code", "pre", "template"}
# Proper names and product words the portal shows as they are.
ALLOWED = {"Stripe", "SANDBOX", "PIJAR SEMAR", "English", "Bahasa Indonesia"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.skip = 0
        self.ignored = 0
        self.texts: list[str] = []
        self._stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang") or ""
        if tag in SKIPPED_TAGS:
            self.skip += 1
        if tag in {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area"}:
            return
        other_language = "lang" in attributes and not (attributes["lang"] or "").startswith("id")
        data = "data-as-entered" in attributes
        self._stack.append(other_language or data)
        if other_language or data:
            self.ignored += 1
        for name in ("title", "aria-label", "placeholder", "alt"):
            if attributes.get(name) and not self.ignored:
                self.texts.append(attributes[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skip = max(0, self.skip - 1)
        if tag in {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area"}:
            return
        if self._stack and self._stack.pop():
            self.ignored -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self.skip and not self.ignored:
            self.texts.append(text)


@cache
def untranslated_messages() -> frozenset[str]:
    """Catalogue messages whose Indonesian differs from the English text, and that are long
    enough to be a sentence or a label of their own."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    found = set()
    for message in catalogue:
        if not message.id or not isinstance(message.id, str) or "%(" in message.id:
            continue
        if message.string and message.string != message.id and len(message.id.split()) >= 2:
            found.add(message.id)
    return frozenset(found)


def english_texts(html: str) -> list[str]:
    """Texts in English on a page whose language is Indonesian (none on an English page)."""
    parser = _Text()
    parser.feed(html)
    if not parser.lang.startswith("id"):
        return []
    english = []
    messages = untranslated_messages()
    for text in parser.texts:
        if text in ALLOWED:
            continue
        words = [word.lower() for word in WORD.findall(text)]
        if text in messages or sum(word in ENGLISH_WORDS for word in words) >= 2:
            english.append(text)
    return english


def language_problems(pages: list[Page]) -> list[str]:
    return [
        f"{page.url}: English text {text!r}" for page in pages for text in english_texts(page.html)
    ]


def in_ci() -> bool:
    return os.environ.get("CI") == "true"
