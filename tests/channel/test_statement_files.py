"""`khaacho khata import` and `khaacho statement` from the command line, and the statement's PDF:
Devanagari shaped as a reader writes it (checked on rendered pages, not only in the text), both
languages, both formats."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import Image

from bot import statement_doc
from ledger import reports
from ledger.statements import Line, Party, Statement
from locales.render import Messages
from tests.channel.test_cli import khaacho

HEADER = "date,vendor_phone,retailer_phone,retailer_name,kind,amount,reference,due_date,method\n"
ZERO_WIDTH_SPACE = "\u200b"


def sample(lines: int = 3) -> Statement:
    entries = [Line(date(2026, 3, 1) + timedelta(days=i), "bill" if i % 2 == 0 else "payment",
                    None if i % 2 == 0 else "esewa", f"बिल-{i}", "भेरी ट्रेडर्स",
                    100_000 if i % 2 == 0 else 0, 0 if i % 2 == 0 else 40_000,
                    60_000 * (i + 1), i % 3 == 0, True) for i in range(lines)]
    return Statement(
        retailer=Party(1, "राम किराना पसल", "+9779820000001"),
        vendor=Party(2, "भेरी ट्रेडर्स", "+9779810000001"), start=date(2026, 3, 1),
        end=date(2026, 3, 31), opening_paisa=0, lines=tuple(entries),
        closing_paisa=entries[-1].balance_paisa if entries else 0,
        ageing=reports.Ageing(60_000, 0, 0, 0),
        generated_at=datetime(2026, 4, 1, 4, 0, tzinfo=UTC), truncated=False)


def pages(content: bytes, scale: float = 1.5) -> list[Image.Image]:
    document = pdfium.PdfDocument(io.BytesIO(content))
    return [page.render(scale=scale).to_pil().convert("L") for page in document]


def text_of(content: bytes) -> str:
    document = pdfium.PdfDocument(io.BytesIO(content))
    return "\n".join(p.get_textpage().get_text_range() for p in document).replace(
        ZERO_WIDTH_SPACE, "")


def ink_width(image: Image.Image) -> int:
    """How wide the dark pixels spread: the width of what is written."""
    box = image.point(lambda v: 255 if v < 128 else 0).getbbox()
    assert box is not None, "nothing is drawn"
    return box[2] - box[0]


def word(text: str, shaped: bool) -> Image.Image:
    """One word in the statement's Devanagari font, with or without shaping, as pixels."""
    page = FPDF(format=(120, 30))
    page.set_auto_page_break(False)
    page.set_margins(5, 5, 5)
    page.add_page()
    page.add_font("deva", "", str(statement_doc.FONTS / "NotoSansDevanagari-Regular.ttf"))
    page.set_font("deva", size=28)
    page.set_text_shaping(shaped)
    page.cell(0, 20, text)
    return pages(bytes(page.output()), scale=2)[0]


def test_the_pdf_shapes_conjuncts_and_vowel_signs() -> None:
    """A conjunct drawn by the shaper is narrower than its letters side by side with a visible
    virama (क्ष, not क्‌ष), and the vowel sign ि stands before its letter: the reference rendering
    without shaping must differ, and the statement's own pages must carry those words."""
    for conjunct in ("क्ष", "क्रे", "स्वी", "र्भ"):
        assert ink_width(word(conjunct, shaped=True)) < ink_width(word(conjunct, shaped=False))
    assert word("कि", shaped=True).tobytes() != word("कि", shaped=False).tobytes()
    content = statement_doc.pdf(sample(), "ne", Messages())
    first = pages(content)[0]
    assert first.getextrema()[0] < 60, "the page is blank"
    text = text_of(content)
    for words in ("खाता विवरण", "क्रेडिट", "डेबिट", "स्वीकृत", "थोक विक्रेता", "राम किराना पसल",
                  "सुरुको बाँकी", "२०८२ फागुन १७", "रु १,०००", "भुक्तानी (इसेवा) *"):
        assert words in text, words


def test_the_pdf_in_english_keeps_shop_names_in_devanagari() -> None:
    content = statement_doc.pdf(sample(), "en", Messages())
    text = text_of(content)
    for words in ("Statement of account", "Opening balance", "Rs 1,000", "17 Falgun 2082",
                  "2026-03-01", "राम किराना पसल", "payment (esewa) *", "yes", "no"):
        assert words in text, words


def test_a_long_statement_runs_over_pages_with_the_heading_again() -> None:
    content = statement_doc.pdf(sample(60), "en", Messages())
    rendered = pages(content)
    assert len(rendered) >= 3
    assert text_of(content).count("Date (AD)") == len(rendered)


def test_the_csv_is_a_spreadsheet_in_the_readers_language() -> None:
    rows = list(csv.reader(io.StringIO(
        statement_doc.csv_bytes(sample(), "ne", Messages()).decode("utf-8"))))
    assert rows[0][:4] == ["मिति (ई.सं.)", "मिति (वि.सं.)", "विवरण", "सन्दर्भ"]
    assert rows[1][2] == "सुरुको बाँकी"
    assert rows[2] == ["2026-03-01", "17 Falgun 2082", "बिल *", "बिल-0", "1000.00", "",
                       "600.00", "छ"]
    assert rows[5][2] == "अन्तिम बाँकी" and rows[5][6] == "1800.00"
    assert [r[3] for r in rows[6:]] == ["०–३० दिन", "३१–६० दिन", "६१–९० दिन", "९० दिनभन्दा बढी"]


async def test_khata_import_and_statement_from_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    code, _, err = await khaacho(database_url, "user", "add", "--role", "vendor", "--phone",
                                 "9810000001", "--name", "Bheri Traders")
    assert code == 0, err
    book = tmp_path / "book.csv"
    book.write_text(HEADER + "2026-03-01,9810000001,9841000001,Naya Pasal,sale,1000,B-1,,\n"
                    "2026-03-04,9810000001,9841000001,,payment,400,R-1,,esewa\n", "utf-8")
    code, out, err = await khaacho(database_url, "khata", "import", str(book), "--dry-run")
    assert code == 0 and "would import 1 bills and 1 payments" in out and "dry run" in out, err
    code, out, err = await khaacho(database_url, "khata", "import", str(book))
    assert code == 0 and "imported 1 bills and 1 payments" in out, err
    code, out, err = await khaacho(database_url, "khata", "import", str(book))
    assert code == 0 and "imported 0 bills and 0 payments (2 imported before" in out, err
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2026-03-01,9810000009,9841000001,,sale,10,B-2,,\n"
                   "2026-03-01,9810000001,9841000001,,sale,ten,B-3,,\n", "utf-8")
    code, _, err = await khaacho(database_url, "khata", "import", str(bad))
    assert code == 1 and "nothing imported" in err
    assert "line 2, column vendor_phone" in err and "line 3, column amount" in err

    for language, heading in (("en", "Statement of account"), ("ne", "खाता विवरण")):
        out_file = tmp_path / f"statement-{language}.pdf"
        code, out, err = await khaacho(
            database_url, "statement", "--retailer", "9841000001", "--vendor", "9810000001",
            "--format", "pdf", "--out", str(out_file), "--language", language)
        assert code == 0 and "2 entries" in out, err
        assert heading in text_of(out_file.read_bytes())
    csv_file = tmp_path / "statement.csv"
    code, _, err = await khaacho(
        database_url, "statement", "--retailer", "9841000001", "--from", "2026-03-02",
        "--to", "2026-03-31", "--format", "csv", "--out", str(csv_file), "--language", "en")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(csv_file.read_text("utf-8"))))
    # All vendors: a vendor column; the sale before --from is the opening balance.
    assert rows[0][4] == "Vendor" and rows[1][2] == "Opening balance" and rows[1][7] == "1000.00"
    assert rows[2][2] == "payment (esewa) *" and rows[2][6] == "400.00"
    code, _, err = await khaacho(database_url, "statement", "--retailer", "9841000009",
                                 "--format", "pdf", "--out", str(tmp_path / "x.pdf"))
    assert code == 2 and "no retailer" in err


def _undated(content: bytes) -> bytes:
    """The file without its creation time and the document ID fpdf2 hashes from it."""
    return re.sub(rb"/CreationDate \(D:[^)]*\)|/ID \[<[0-9A-F]*><[0-9A-F]*>\]", b"", content)


def _plain_fpdf2(content: Statement, lang: str, patch: pytest.MonkeyPatch) -> bytes:
    """The statement drawn by fpdf2's own code paths: the page's shortcuts taken out."""
    with patch.context() as local:
        local.setattr(statement_doc._Page, "_preload_bidirectional_text",
                      FPDF._preload_bidirectional_text)
        local.setattr(statement_doc._Page, "output", FPDF.output)
        local.setattr(statement_doc._Page, "width_of",
                      lambda page, text: page.get_string_width(text))
        return _undated(statement_doc.pdf(content, lang, Messages()))  # type: ignore[arg-type]


def test_the_pages_shortcuts_draw_the_same_bytes_as_fpdf2(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Skipping the bidi pass for left-to-right text, remembering widths and dropping the layout
    tables before subsetting change nothing in the file (its creation date pinned), in both
    languages, with long references cut to their column and every vendor's column."""
    base = sample(40)
    long = Line(date(2026, 3, 20), "adjustment", None, "a reason far too long for its column",
                "Sita Wholesale and Distribution Centre", 5_000, 0, 5_000, False, False)
    everyone = Statement(**{**base.__dict__, "vendor": None, "lines": base.lines + (long,)})
    for content in (base, everyone):
        for lang in ("en", "ne"):
            fast = statement_doc.pdf(content, lang, Messages())  # type: ignore[arg-type]
            assert _undated(fast) == _plain_fpdf2(content, lang, monkeypatch)
            assert ("…" in text_of(fast)) == (content is everyone)


def test_the_same_statement_today_is_drawn_once() -> None:
    """A repeat hands out the first drawing; another entry, another language or another day
    draws anew."""
    first = sample(5)
    drawn = statement_doc.render(first, "pdf", "en", Messages())
    assert statement_doc.render(first, "pdf", "en", Messages()) is drawn
    later = Statement(**{**first.__dict__, "generated_at": first.generated_at + timedelta(hours=1)})
    assert statement_doc.render(later, "pdf", "en", Messages()) is drawn
    more = sample(6)
    assert statement_doc.render(more, "pdf", "en", Messages()) is not drawn
    assert statement_doc.render(first, "pdf", "ne", Messages()) is not drawn
    tomorrow = Statement(**{**first.__dict__,
                            "generated_at": first.generated_at + timedelta(days=1)})
    again = statement_doc.render(tomorrow, "pdf", "en", Messages())
    assert again is not drawn and text_of(again) != text_of(drawn)
