"""Archival PDFs: every document embeds the DejaVu Sans fonts and declares PDF/A-2b.

One place registers the fonts (once per process, from static/fonts, never from the system),
restyles reportlab's sample stylesheet to use them, and offers ArchivalCanvas: a canvas that,
as it saves, adds the XMP metadata (pdfaid part 2, conformance B, mirroring the document
information), an sRGB output intent and the document language. Platypus documents use it
through ArchivalDocument, and their tables through ArchivalTable. Each font keeps its
subsets' compressed programs, widths and ToUnicode maps, so a run of certificates cuts and
compresses its fonts once.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from flask_babel import gettext
from PIL import ImageCms
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFCatalog,
    PDFDictionary,
    PDFName,
    PDFObject,
    PDFStream,
    PDFString,
    PDFTrueTypeFont,
)
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    TTFontFace,
    makeToUnicodeCMap,
)
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate, Table

from config import BASE_DIR

FONT_DIR = BASE_DIR / "static" / "fonts" / "dejavu"
FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
ITALIC = "DejaVuSans-Oblique"
PDF_VERSION = (1, 7)  # PDF/A-2 is built on PDF 1.7
SRGB = "sRGB IEC61966-2.1"
PROGRAMS_KEPT = 64  # subsets whose PDF objects each font keeps ready
# reportlab's built-in names, as the sample stylesheet and table cells use them
_STANDARD = {
    "Helvetica": FONT,
    "Helvetica-Bold": BOLD,
    "Helvetica-Oblique": ITALIC,
    "Helvetica-BoldOblique": BOLD,
}


class _Face(TTFontFace):
    """A typeface that keeps each subset's compressed font program: most documents use the
    same subset as the one before (printable ASCII plus a few letters), and cutting and
    compressing it again would be most of the cost of a certificate."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._programs: dict[tuple[int, ...], tuple[bytes, int]] = {}

    def _program(self, subset: list[int]) -> tuple[bytes, int]:
        key = tuple(subset)
        found = self._programs.get(key)
        if found is None:
            raw = self.makeSubset(subset)
            if len(self._programs) >= PROGRAMS_KEPT:
                self._programs.clear()
            found = self._programs[key] = (zlib.compress(raw), len(raw))
        return found

    def addSubsetObjects(self, doc: Any, fontname: str, subset: list[int]) -> Any:
        """As TTFontFace does, with the font program taken from the cache."""
        program, length = self._program(subset)
        font_file = PDFStream(
            PDFDictionary({"Length1": length, "Filter": PDFName("FlateDecode")}), program
        )
        flags = (self.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
        descriptor = PDFDictionary(
            {
                "Type": PDFName("FontDescriptor"),
                "Ascent": self.ascent,
                "CapHeight": self.capHeight,
                "Descent": self.descent,
                "Flags": flags,
                "FontBBox": PDFArray(self.bbox),
                "FontName": PDFName(fontname),
                "ItalicAngle": self.italicAngle,
                "StemV": self.stemV,
                "FontFile2": doc.Reference(font_file),
                "MissingWidth": self.defaultWidth,
            }
        )
        return doc.Reference(descriptor, f"fontDescriptor:{fontname}")


class _Formatted(PDFObject):
    """A PDF value formatted once and written as those bytes in every document."""

    def __init__(self, text: bytes) -> None:
        self.text = text

    def format(self, document: Any) -> bytes:
        return self.text


class _Font(TTFont):
    """A TTFont on a _Face whose per-subset objects (widths, ToUnicode map) are made once."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path)
        self.face = _Face(path)  # parsed twice, once per process: TTFont makes its own
        self._parts: dict[tuple[int, tuple[int, ...]], tuple[_Formatted, bytes]] = {}

    def _subset_parts(self, n: int, subset: list[int], base: str) -> tuple[_Formatted, bytes]:
        key = (n, tuple(subset))
        found = self._parts.get(key)
        if found is None:
            widths = pdfdoc.format(PDFArray([self.face.getCharWidth(c) for c in subset]), None)
            cmap = zlib.compress(makeToUnicodeCMap(base, subset).encode())
            if len(self._parts) >= PROGRAMS_KEPT:
                self._parts.clear()
            found = self._parts[key] = (_Formatted(widths), cmap)
        return found

    def addObjects(self, doc: Any) -> None:
        """As TTFont does, with the widths and the ToUnicode map taken from the cache."""
        state = self.state.get(doc) or self.state.setdefault(doc, TTFont.State(self._asciiReadable))
        state.frozen = 1
        for n, subset in enumerate(state.subsets):
            internal = self.getSubsetInternalName(n, doc)[1:]
            base = (SUBSETN(n) + b"+" + self.face.name + self.face.subfontNameX).decode("pdfdoc")
            widths, cmap = self._subset_parts(n, subset, base)
            font = PDFTrueTypeFont()
            font.Name, font.BaseFont = internal, base
            font.FirstChar, font.LastChar, font.Widths = 0, len(subset) - 1, widths
            to_unicode = PDFStream(PDFDictionary({"Filter": PDFName("FlateDecode")}), cmap)
            font.ToUnicode = doc.Reference(to_unicode)
            font.FontDescriptor = self.face.addSubsetObjects(doc, base, subset)
            doc.Reference(font, internal)
            doc.idToObject["BasicFonts"].dict[internal] = font
        del self.state[doc]


@functools.cache
def register_fonts() -> None:
    """Registers the TTF fonts and their family (so <b> and <i> in paragraphs find them)."""
    for name in (FONT, BOLD, ITALIC):
        pdfmetrics.registerFont(_Font(name, str(FONT_DIR / f"{name}.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD)


def stylesheet() -> StyleSheet1:
    """reportlab's sample stylesheet, set in the embedded fonts."""
    register_fonts()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        for attribute in ("fontName", "bulletFontName"):
            if hasattr(style, attribute):
                setattr(style, attribute, _STANDARD.get(getattr(style, attribute), FONT))
    return styles


class ArchivalTable(Table):
    """A Table whose cells start in the embedded font: reportlab sets a font for every cell,
    paragraphs included, and that font is Helvetica unless a FONT command says otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        register_fonts()
        super().__init__(*args, **kwargs)
        self.setStyle([("FONT", (0, 0), (-1, -1), FONT)])


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile, made by Little CMS through Pillow (no profile file to ship),
    compressed once."""
    return zlib.compress(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _nothing(*_args: Any) -> None:
    pass


class ArchivalCanvas(Canvas):
    """A canvas whose text starts in the embedded font and whose file declares PDF/A-2b."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        register_fonts()
        name = kwargs.get("initialFontName") or FONT
        kwargs["initialFontName"] = _STANDARD.get(name, name)
        kwargs["pdfVersion"] = PDF_VERSION
        kwargs["lang"] = kwargs.get("lang") or "id"
        super().__init__(*args, **kwargs)
        self._language = kwargs["lang"]

    def save(self) -> None:
        catalog = self._doc.Catalog
        catalog.Metadata = _metadata_stream(self)
        catalog.OutputIntents = PDFArray([_output_intent(self)])
        # the catalog writes only the keys it knows; OutputIntents is not one of them
        catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, "OutputIntents"]
        super().save()


class ArchivalDocument(SimpleDocTemplate):
    """A SimpleDocTemplate that starts in the embedded font and draws on an ArchivalCanvas."""

    def __init__(self, buffer: Any, **kwargs: Any) -> None:
        register_fonts()
        super().__init__(buffer, initialFontName=FONT, **kwargs)

    def build(  # type: ignore[override]
        self,
        flowables: list[Flowable],
        onFirstPage: Callable[..., None] = _nothing,
        onLaterPages: Callable[..., None] = _nothing,
        canvasmaker: type[Canvas] = ArchivalCanvas,
    ) -> None:
        super().build(flowables, onFirstPage, onLaterPages, canvasmaker)


def _output_intent(pdf: Canvas) -> PDFDictionary:
    profile = PDFStream(PDFDictionary({"N": 3, "Filter": PDFName("FlateDecode")}), srgb_profile())
    return PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString(SRGB),
            "Info": PDFString(SRGB),
            "DestOutputProfile": pdf._doc.Reference(profile),
        }
    )


class _PlainStream(PDFStream):
    """A stream written as it is, without a Filter entry: XMP stays readable to any tool."""

    def format(self, document: Any) -> bytes:
        dictionary = PDFDictionary({**self.dictionary.dict, "Length": len(self.content)})
        head: bytes = pdfdoc.format(dictionary, document)
        return head + b"\nstream\n" + self.content + b"endstream\n"


def _metadata_stream(pdf: ArchivalCanvas) -> PDFStream:
    """The XMP packet, equal to the document information."""
    dictionary = PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")})
    return _PlainStream(dictionary, xmp(pdf).encode())


def xmp(pdf: ArchivalCanvas) -> str:
    """The document information of `pdf` as XMP, with the PDF/A-2b identification."""
    info = pdf._doc.info
    stamp = pdf._doc._timeStamp
    when = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*stamp.YMDhms)
    when += f"{stamp.dhh:+03d}:{stamp.dmm:02d}"

    def alt(text: str | None) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(text or "")}</rdf:li></rdf:Alt>'

    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 pdfaid:part="2" pdfaid:conformance="B"/>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:format>application/pdf</dc:format>
<dc:title>{alt(info.title)}</dc:title>
<dc:creator><rdf:Seq><rdf:li>{escape(info.author or "")}</rdf:li></rdf:Seq></dc:creator>
<dc:description>{alt(info.subject)}</dc:description>
<dc:language><rdf:Bag><rdf:li>{escape(pdf._language)}</rdf:li></rdf:Bag></dc:language>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
 pdf:Producer={quoteattr(info.producer)} pdf:Keywords={quoteattr(info.keywords or "")}
 pdf:Trapped={quoteattr(info.trapped)}/>
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmp:CreatorTool={quoteattr(info.creator or "")} xmp:CreateDate="{when}"
 xmp:ModifyDate="{when}" xmp:MetadataDate="{when}"/>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


PAGE_MARGIN = 18 * mm


def page_footer(text: str) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Draws the footer line and the page number on every page of an A4 document."""

    def draw(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#52606d"))
        canvas.drawString(PAGE_MARGIN, 10 * mm, text)
        canvas.drawRightString(
            A4[0] - PAGE_MARGIN, 10 * mm, gettext("Page %(n)s", n=canvas.getPageNumber())
        )
        canvas.restoreState()

    return draw
