"""A statement (`ledger.statements.Statement`) as a PDF or a CSV file, in the reader's language.

The PDF is drawn with fpdf2 and its text shaped by HarfBuzz (`set_text_shaping`), so Devanagari
conjuncts and vowel signs come out as a reader writes them (क्रेडिट, स्वीकृत), with the Noto fonts
shipped in `bot/fonts` (SIL Open Font License, `bot/fonts/OFL.txt`): Noto Sans for Latin text,
Noto Sans Devanagari for Nepali, each the other's fallback. Dates are given in AD and Bikram
Sambat; Nepali readers get Devanagari digits. The CSV keeps ASCII digits and plain rupees so a
spreadsheet can add them up; its headings are in the reader's language.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fpdf import FPDF
from fpdf.enums import TextDirection, XPos, YPos

from ledger.statements import Line, Statement
from locales import Language, formats
from locales.render import Messages

Format = Literal["pdf", "csv"]
MIME = {"pdf": "application/pdf", "csv": "text/csv"}
FONTS = Path(__file__).parent / "fonts"
CONTEXT = "statement"

_WHAT = {"order": "order", "bill": "bill", "payment": "payment",
         "order_cancelled": "order cancelled", "payment_reversed": "payment reversed",
         "adjustment": "adjustment"}


class _Words:
    """The statement's words in one language."""

    def __init__(self, messages: Messages, lang: Language) -> None:
        self.messages, self.lang = messages, lang

    def __call__(self, text: str, **fields: str) -> str:
        said = self.messages.pgettext(self.lang, CONTEXT, text)
        return said.format(**fields) if fields else said

    def ad(self, day: date) -> str:
        return formats.digits(day.isoformat(), self.lang)

    def bs(self, day: date) -> str:
        return formats.bs_date(day, self.lang)

    def both(self, day: date) -> str:
        return f"{self.ad(day)} ({self.bs(day)})"

    def money(self, paisa: int) -> str:
        return formats.money(paisa, self.lang)

    def what(self, line: Line) -> str:
        text = self(_WHAT[line.what])
        if line.method:
            text += f" ({self(line.method)})"
        return text + (" *" if line.imported else "")

    def period(self, statement: Statement) -> str:
        if statement.start is None:
            return self("from the first entry to {end}", end=self.both(statement.end))
        return self("{start} to {end}", start=self.both(statement.start),
                    end=self.both(statement.end))


def filename(statement: Statement, fmt: Format) -> str:
    """statement-9779812345678-2026-11-20.pdf: whose, up to when."""
    who = (statement.retailer.phone or str(statement.retailer.user_id)).lstrip("+")
    return f"statement-{who}-{statement.end.isoformat()}.{fmt}"


def render(statement: Statement, fmt: Format, lang: Language, messages: Messages) -> bytes:
    """The file; a PDF drawn before from the same statement today is handed out again."""
    if fmt != "pdf":
        return csv_bytes(statement, lang, messages)
    key = _key(statement, lang)
    found = _DRAWN.get(key)
    if found is None:
        found = pdf(statement, lang, messages)
        _DRAWN.put(key, found)
    return found


def _key(statement: Statement, lang: Language) -> str:
    """What a drawn PDF shows: every line, sum and party (the ledger is append-only, so an entry
    written since changes them), the ageing, the language and the Nepal day of drawing; not the
    clock time it was drawn at, which the document then keeps from its first drawing."""
    day = formats.nepal_time(statement.generated_at).date()
    content = dataclasses.replace(statement, generated_at=None)  # type: ignore[arg-type]
    return hashlib.sha256(repr((lang, day, content)).encode()).hexdigest()


class _Drawn:
    """The last PDFs drawn, up to `limit` bytes: a shop or vendor tapping 'statement' again, or
    the same statement opened from chat and the web, gets the file without drawing it again
    (drawing takes fpdf2 about 2 ms a line and 100 ms a file). Worker threads share it."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0
        self.files: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            found = self.files.get(key)
            if found is not None:
                self.files.move_to_end(key)
            return found

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.limit // 4:
            return
        with self.lock:
            if key in self.files:
                return
            self.files[key] = data
            self.size += len(data)
            while self.size > self.limit:
                _, dropped = self.files.popitem(last=False)
                self.size -= len(dropped)


_DRAWN = _Drawn(32 * 1024 * 1024)


def csv_bytes(statement: Statement, lang: Language, messages: Messages) -> bytes:
    words = _Words(messages, lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    every_vendor = statement.vendor is None
    writer.writerow([words("Date (AD)"), words("Date (BS)"), words("What"), words("Reference"),
                     *([words("Vendor")] if every_vendor else []), words("Debit"),
                     words("Credit"), words("Balance"), words("Acknowledged")])

    def rupees(paisa: int) -> str:
        return "" if paisa == 0 else f"{paisa // 100}.{paisa % 100:02d}" if paisa > 0 else (
            f"-{-paisa // 100}.{-paisa % 100:02d}")

    blank = [""] * (1 if every_vendor else 0)
    first = statement.start or (statement.lines[0].happened_on if statement.lines
                                else statement.end)
    writer.writerow([first.isoformat(), formats.bs_date(first, "en"), words("Opening balance"),
                     "", *blank, "", "", rupees(statement.opening_paisa) or "0.00", ""])
    for line in statement.lines:
        writer.writerow([line.happened_on.isoformat(), formats.bs_date(line.happened_on, "en"),
                         words.what(line), line.reference,
                         *([line.vendor_name] if every_vendor else []),
                         rupees(line.debit_paisa), rupees(line.credit_paisa),
                         rupees(line.balance_paisa) or "0.00",
                         words("yes") if line.acknowledged else words("no")])
    end = statement.end
    writer.writerow([end.isoformat(), formats.bs_date(end, "en"), words("Closing balance"), "",
                     *blank, "", "", rupees(statement.closing_paisa) or "0.00", ""])
    aged = statement.ageing
    for label, paisa in (("0-30 days", aged.d0_30), ("31-60 days", aged.d31_60),
                         ("61-90 days", aged.d61_90), ("over 90 days", aged.d90_plus)):
        writer.writerow(["", "", words("Owed now, by days since the bill"), words(label),
                         *blank, "", "", rupees(paisa) or "0.00", ""])
    return out.getvalue().encode("utf-8")


# Bidi classes that can make a text other than one left-to-right run (right-to-left letters,
# Arabic digits, explicit embeddings and isolates). Statements are Latin and Devanagari.
_NOT_LTR = frozenset(("R", "AL", "AN", "RLE", "LRE", "RLO", "LRO", "RLI", "LRI", "FSI", "PDF",
                      "PDI"))
# Tables fpdf2's subsetter drops from every embedded font (fpdf.output: drop_tables); shaping has
# read them already through HarfBuzz, which opens the font file itself.
_DROPPED_LAYOUT = ("GDEF", "GSUB", "GPOS")


class _Page(FPDF):
    """fpdf2's page, with two shortcuts that leave the PDF byte for byte as fpdf2 draws it.

    A statement is a few hundred small cells, and fpdf2 runs the Unicode bidirectional algorithm
    (in Python) over each cell's text and again over each width asked: over half the drawing
    time. A text with no right-to-left character is one left-to-right run, which is what that
    algorithm returns for it, so such a text goes straight to fpdf2's font-style step. And a
    width asked twice (the same date, word or name in many rows) is remembered for the document.
    """

    words: _Words

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._widths: dict[tuple[str, str, float, str], float] = {}

    def _preload_bidirectional_text(self, text: str, markdown: bool) -> Sequence[Any]:
        if not (self.text_shaping and text) or markdown or any(
                unicodedata.bidirectional(c) in _NOT_LTR for c in text):
            return super()._preload_bidirectional_text(text, markdown)
        self.text_shaping["paragraph_direction"] = TextDirection.LTR
        self.text_shaping["fragment_direction"] = TextDirection.LTR
        emphasis = ("B" in self.font_style, "I" in self.font_style, self.strikethrough,
                    self.underline)
        return tuple(self._preload_font_styles(text, markdown, _initial_emphasis=emphasis))

    def width_of(self, text: str) -> float:
        """`get_string_width`, remembered per font, style and size."""
        key = (self.font_family, self.font_style, self.font_size_pt, text)
        found = self._widths.get(key)
        if found is None:
            found = self._widths[key] = self.get_string_width(text)
        return found

    def output(self, *args: Any, **kwargs: Any) -> Any:
        # fontTools' subsetter decodes a font's layout tables before dropping them: over half of
        # writing the file, for tables the PDF never holds.
        for font in self.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            for tag in _DROPPED_LAYOUT:
                if ttfont is not None and tag in ttfont:
                    del ttfont[tag]
        return super().output(*args, **kwargs)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(size=7)
        number = formats.digits(str(self.page_no()), self.words.lang)
        self.cell(0, 5, f"{self.words('Page')} {number}", align="C")


def _fonts(page: FPDF, lang: Language) -> None:
    for family, stem in (("latin", "NotoSans"), ("deva", "NotoSansDevanagari")):
        page.add_font(family, "", str(FONTS / f"{stem}-Regular.ttf"))
        page.add_font(family, "B", str(FONTS / f"{stem}-Bold.ttf"))
    primary, other = ("deva", "latin") if lang == "ne" else ("latin", "deva")
    page.set_font(primary, size=9)
    page.set_fallback_fonts([other], exact_match=False)
    page.set_text_shaping(True)


def pdf(statement: Statement, lang: Language, messages: Messages) -> bytes:
    words = _Words(messages, lang)
    page = _Page(orientation="landscape", format="A4")
    page.words = words
    page.set_title(words("Statement of account"))
    page.set_creator("Khaacho")
    page.set_margins(12, 12, 12)
    page.set_auto_page_break(False)
    _fonts(page, lang)
    page.add_page()

    def text(size: float, value: str, *, bold: bool = False, height: float = 6) -> None:
        page.set_font(style="B" if bold else "", size=size)
        page.cell(0, height, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    text(15, words("Statement of account"), bold=True, height=9)
    retailer, vendor = statement.retailer, statement.vendor
    text(10, f"{words('Retailer')}: {retailer.name}"
         + (f" ({formats.digits(retailer.phone, lang)})" if retailer.phone else ""))
    text(10, f"{words('Vendor')}: " + (vendor.name + (
        f" ({formats.digits(vendor.phone, lang)})" if vendor.phone else "")
        if vendor else words("All vendors")))
    text(10, f"{words('Period')}: {words.period(statement)}")
    generated = formats.nepal_time(statement.generated_at)
    text(8, f"{words('Generated')}: {words.both(generated.date())} "
         f"{formats.clock(statement.generated_at, lang)}")
    page.ln(2)
    for label, paisa in (("Opening balance", statement.opening_paisa),
                         ("Total debit", statement.debits_paisa),
                         ("Total credit", statement.credits_paisa),
                         ("Closing balance", statement.closing_paisa)):
        page.set_font(style="B" if label == "Closing balance" else "", size=10)
        page.cell(45, 6, words(label))
        page.cell(40, 6, words.money(paisa), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    page.ln(3)

    every_vendor = vendor is None
    vendor_column: list[tuple[str, float, Literal["L", "R", "C"]]] = (
        [("Vendor", 28, "L")] if every_vendor else [])
    columns: list[tuple[str, float, Literal["L", "R", "C"]]] = [
        ("Date (AD)", 22, "L"), ("Date (BS)", 30, "L"), ("What", 40, "L"),
        ("Reference", 28 if every_vendor else 56, "L"),
        *vendor_column,
        ("Debit", 30, "R"), ("Credit", 30, "R"), ("Balance", 34, "R"),
        ("Acknowledged", 28, "C"),  # its heading needs room beside "Balance"
    ]

    def header() -> None:
        page.set_font(style="B", size=8.5)
        page.set_fill_color(230, 236, 240)
        for label, width, align in columns:
            page.cell(width, 7, words(label), border="B", align=align, fill=True)
        page.ln(7)
        page.set_font(style="", size=8.5)

    def row(cells: list[str], *, bold: bool = False) -> None:
        if page.get_y() > page.h - 22:
            page.add_page()
            header()
        page.set_font(style="B" if bold else "", size=8.5)
        for (_, width, align), value in zip(columns, cells, strict=True):
            page.cell(width, 6, _fit(page, value, width - 1.5), border="B", align=align)
        page.ln(6)

    header()
    blank = [""] * (1 if every_vendor else 0)
    first = statement.start or (statement.lines[0].happened_on if statement.lines
                                else statement.end)
    row([words.ad(first), words.bs(first), words("Opening balance"), "", *blank, "", "",
         words.money(statement.opening_paisa), ""], bold=True)
    for line in statement.lines:
        row([words.ad(line.happened_on), words.bs(line.happened_on), words.what(line),
             line.reference, *([line.vendor_name] if every_vendor else []),
             words.money(line.debit_paisa) if line.debit_paisa else "",
             words.money(line.credit_paisa) if line.credit_paisa else "",
             words.money(line.balance_paisa),
             words("yes") if line.acknowledged else words("no")])
    end = statement.end
    row([words.ad(end), words.bs(end), words("Closing balance"), "", *blank, "", "",
         words.money(statement.closing_paisa), ""], bold=True)
    if not statement.lines:
        text(9, words("No entries in this period."))
    if statement.truncated:
        text(9, words("Only the first entries of this period are listed; ask for a shorter "
                      "period."), bold=True)

    if page.get_y() > page.h - 45:
        page.add_page()
    page.ln(4)
    text(10, words("Owed now, by days since the bill"), bold=True)
    aged = statement.ageing
    page.set_font(style="", size=9)
    for label in ("0-30 days", "31-60 days", "61-90 days", "over 90 days", "Total"):
        page.cell(40, 6, words(label), border="B")
    page.ln(6)
    for paisa in (aged.d0_30, aged.d31_60, aged.d61_90, aged.d90_plus, aged.total):
        page.cell(40, 6, words.money(paisa), border="B")
    page.ln(9)
    page.set_font(style="", size=7.5)
    if any(line.imported for line in statement.lines):
        page.cell(0, 5, words("* from the vendor's old book (imported)"), new_x=XPos.LMARGIN,
                  new_y=YPos.NEXT)
    page.cell(0, 5, words("Debit: owed more. Credit: owed less. Acknowledged: the other side "
                          "agreed."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _map_cluster_glyphs(page)
    return bytes(page.output())


ZERO_WIDTH_SPACE = 0x200B


def _map_cluster_glyphs(page: FPDF) -> None:
    """Give every glyph a text in the PDF's ToUnicode map, so text copied or searched reads right.

    With shaping, fpdf2 gives a cluster's text to its first glyph (a reordered vowel sign, as in
    "बि", carries both letters) and none to the others, which viewers then read as whatever
    their codes happen to be ("डेबि\x07ट"). Those glyphs' text is already told: they read as
    an invisible zero-width space instead (`font.subset` is fpdf2's map of the glyphs used).
    """
    for font in page.fonts.values():
        subset = getattr(font, "subset", None)
        if subset is None:
            continue
        for glyph, _ in subset.items():
            if glyph is not None and isinstance(glyph.unicode, tuple) and not glyph.unicode:
                glyph.unicode = (ZERO_WIDTH_SPACE,)


def _fit(page: FPDF, value: str, width: float) -> str:
    """A cell's text cut to its column (a long reference or name ends in "…")."""
    measure = page.width_of if isinstance(page, _Page) else page.get_string_width
    if measure(value) <= width:
        return value
    while value and measure(value + "…") > width:
        value = value[:-1]
    # Never end on a virama or a vowel sign cut from its letter.
    return value.rstrip("\u094d\u093e\u093f\u0940\u0941\u0942\u0947\u0948\u094b\u094c"
                        "\u0902\u0901") + "…"
