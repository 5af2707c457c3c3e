"""The bank report (`ledger.bank_report.content`) as a signed PDF and as a page, and the check
that tells a bank whether a PDF is one Khaacho issued, unaltered.

Both renderers work from the canonical dict alone (what was signed and stored), in the reader's
language; the words are in the gettext catalogs under the context "report". The PDF is drawn
like a statement (fpdf2, HarfBuzz shaping, the Noto fonts of `bot/fonts`).

Signing: the PDF carries the signed content as an attached file (`khaacho-report.json`, the
canonical JSON, so a verifier can show what was issued), and after its `%%EOF` one last comment
line, which PDF readers ignore:

    %KHAACHO-SIG <key fingerprint> <base64 Ed25519 signature over every byte before this line>

so any byte changed anywhere, appended or cut off, makes the signature fail.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.settings import Settings
from bot.statement_doc import _fit, _fonts, _map_cluster_glyphs
from ledger import bank_report, report_signing
from locales import Language, formats
from locales.render import Messages

CONTEXT = "report"
ATTACHMENT = "khaacho-report.json"
SIG_PREFIX = b"%KHAACHO-SIG "
MAX_PDF_BYTES = 4 * 1024 * 1024
TEMPLATES = Path(__file__).parent / "templates"
_SIG_LINE = re.compile(rb"%KHAACHO-SIG ([0-9a-f]{4}(?:-[0-9a-f]{4}){3}) ([A-Za-z0-9+/]{86}==)\n")
_ATTACHED = re.compile(
    rb"/Length (\d+)\n(?:/[^\n]*\n)*?/Type /EmbeddedFile\n>>\nstream\n")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def canonical(content: dict[str, Any]) -> bytes:
    """The one JSON text of a report's content: what is attached and what the page shows."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


# ---- words ---------------------------------------------------------------------------------------

class Words:
    """The report's words and figures in one language."""

    def __init__(self, messages: Messages, lang: Language) -> None:
        self.messages, self.lang = messages, lang

    def __call__(self, text: str, **fields: object) -> str:
        said = self.messages.pgettext(self.lang, CONTEXT, text)
        return said.format(**fields) if fields else said

    def n(self, value: int) -> str:
        return formats.number(value, self.lang)

    def money(self, paisa: int) -> str:
        return formats.money(paisa, self.lang)

    def day(self, day: date) -> str:
        return formats.day(day, self.lang)

    def short_day(self, day: date) -> str:
        """One calendar, for narrow columns: AD for English readers, BS for Nepali ones."""
        return formats.bs_date(day, "ne") if self.lang == "ne" else f"{day.day} {day:%b %Y}"

    def moment(self, text: str) -> str:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return f"{formats.day(at, self.lang)} {formats.clock(at, self.lang)} " + self("Nepal time")

    def share(self, part: int, whole: int) -> str:
        return formats.percent(part / whole, self.lang) if whole else "–"

    def days(self, count: int) -> str:
        return self("{count} days", count=self.n(count)) if count != 1 else self("1 day")

    def pick(self, en: str | None, ne: str | None) -> str:
        return (ne if self.lang == "ne" else en) or en or ""


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    note: str = ""


def view(content: dict[str, Any], lang: Language, messages: Messages, *,
         fingerprint: str | None, verify_url: str | None) -> dict[str, Any]:
    """Everything either renderer shows, labelled, in `lang`."""
    w = Words(messages, lang)
    shop, t, dues, s = (content["shop"], content["timeliness"], content["dues"],
                        content["score"])
    vendors = content["vendors"]
    names = {v["vendor_id"]: v["name"] for v in vendors}
    overdue = sum(dues[k] for k in ("past_due_1_30_paisa", "past_due_31_60_paisa",
                                    "past_due_61_90_paisa", "past_due_over_90_paisa"))
    ack = content["acknowledged"]
    since = shop["history_since"]
    who = [
        Row(w("Shop"), shop["shop_name"]),
        Row(w("Owner"), shop["name"]),
        Row(w("Area"), shop["area"] or "–"),
        Row(w("Phone"), formats.digits(shop["phone"], lang) if shop["phone"] else "–"),
        Row(w("On Khaacho since"), w.day(_day_of(shop["joined_at"]))),
        Row(w("Record since"), w.day(date.fromisoformat(since)) if since else "–",
            w("the first entry, the vendors' old books included")),
        Row(w("Credit limit on Khaacho"), w.money(shop["credit_limit_paisa"])),
    ]
    record = [
        Row(w("Bills paid on time"), w.share(t["bills_on_time"], t["bills_due"]),
            w("{on_time} of the {due} bills that fell due in the 12 months",
              on_time=w.n(t["bills_on_time"]), due=w.n(t["bills_due"]))),
        Row(w("Average days past due"), w.days(t["average_days_past_due"]),
            w("per bill due in the 12 months; a bill paid on time counts 0")),
        Row(w("Worst days past due"), w.days(t["worst_days_past_due"]),
            w("the latest any of those bills was paid (or is, if still unpaid)")),
        Row(w("Owed now"), w.money(dues["owed_paisa"]), w("to all vendors, as of the date above")),
        Row(w("Overdue now"), w.money(overdue),
            w("oldest {days} past due", days=w.days(dues["oldest_days_past_due"]))
            if overdue else w("nothing past its due date")),
        Row(w("Disputes"), w("{raised} raised, {open} open",
                             raised=w.n(content["disputes"]["raised"]),
                             open=w.n(content["disputes"]["open"])),
            w("disagreements between the shop and a vendor about a payment or an order")),
        Row(w("Acknowledged by both sides"),
            w.share(ack["acknowledged_paisa"], ack["recorded_paisa"]),
            w("{part} of {whole} of bills and payments, by value",
              part=w.money(ack["acknowledged_paisa"]), whole=w.money(ack["recorded_paisa"]))),
    ]
    months = []
    for i, m in enumerate(content["months"]):
        start, end = date.fromisoformat(m["start"]), date.fromisoformat(m["end"])
        last = i == len(content["months"]) - 1
        months.append({
            "month": formats.bs_month(m["bs_year"], m["bs_month"], lang)
            + (f" ({w('to date')})" if last else ""),
            "dates": _span(start, end, lang),
            "purchases": w.money(m["purchases_paisa"]) if m["purchases_paisa"] else "–",
            "repayments": w.money(m["repayments_paisa"]) if m["repayments_paisa"] else "–",
            "bills": w.n(m["bills"]) if m["bills"] else "–",
        })
    totals = {
        "purchases": w.money(sum(m["purchases_paisa"] for m in content["months"])),
        "repayments": w.money(sum(m["repayments_paisa"] for m in content["months"])),
        "bills": w.n(sum(m["bills"] for m in content["months"])),
    }
    ageing = [
        (w("Not yet due"), w.money(dues["not_due_paisa"])),
        (w("1–30 days past due"), w.money(dues["past_due_1_30_paisa"])),
        (w("31–60 days past due"), w.money(dues["past_due_31_60_paisa"])),
        (w("61–90 days past due"), w.money(dues["past_due_61_90_paisa"])),
        (w("Over 90 days past due"), w.money(dues["past_due_over_90_paisa"])),
        (w("Total owed"), w.money(dues["owed_paisa"])),
    ]
    score = {
        "value": formats.digits(str(s["score"]), lang) if s["score"] is not None else None,
        "band": s["band"],
        "meaning": w.pick(s["meaning_en"], s["meaning_ne"]),
        "reason": w.pick(s["reason_en"], s["reason_ne"]),
        "factors": [{"points": _signed(f["points"], lang), "text": w.pick(f["en"], f["ne"]),
                     "sign": "up" if f["points"] > 0 else "down" if f["points"] < 0 else "zero"}
                    for f in s["factors"]],
        "improvements": [{"text": w.pick(f["en"], f["ne"]),
                          "gain": w("up to {points} points", points=w.n(f["points"]))}
                         for f in s["improvements"]],
    }
    heads = [{"vendor": names.get(h["vendor_id"], str(h["vendor_id"])),
              "account": formats.digits(str(h["account_id"]), lang),
              "entry": formats.digits(str(h["entry_id"]), lang),
              "version": formats.digits(str(h["account_version"]), lang), "hash": h["hash"]}
             for h in content["chain"]]
    key_url = verify_url.rsplit("/", 1)[0] + "/report-key" if verify_url else None
    return {
        "lang": lang,
        "title": w("Credit report"),
        "subtitle": w("From the Khaacho ledger: what this shop bought on credit from its "
                      "wholesalers and how it paid, as recorded up to the date below."),
        "report_id": content["report_id"],
        "head": [Row(w("Report"), content["report_id"]),
                 Row(w("As of"), w.moment(content["as_of"])),
                 Row(w("Issued"), w.moment(content["issued_at"]))],
        "who": who, "record": record, "months": months, "totals": totals, "ageing": ageing,
        "vendors": [{"name": v["name"], "since": w.short_day(date.fromisoformat(v["since"])),
                     "billed": w.money(v["billed_paisa"]), "paid": w.money(v["paid_paisa"]),
                     "owed": w.money(v["owed_paisa"])} for v in vendors],
        "score": score, "heads": heads,
        "fingerprint": fingerprint, "verify_url": verify_url, "key_url": key_url,
        "w": {key: w(text) for key, text in _LABELS.items()},
        "signed": w("Signed by Khaacho with the key {fingerprint}.", fingerprint=fingerprint)
        if fingerprint else "",
        "verify": w("To check this PDF is genuine and unaltered, upload it at {url} or run "
                    "“khaacho report verify FILE”; the public key is at {key_url}.",
                    url=verify_url, key_url=key_url) if verify_url else w(
            "To check this PDF is genuine and unaltered, upload it on Khaacho's verification "
            "page (/verify) or run “khaacho report verify FILE”; the public key is at "
            "/report-key."),
    }


# Section headings and column names, as the template and the PDF use them.
_LABELS = {
    "shop": "The shop", "score": "Credit score", "record": "Repayment record",
    "months": "Purchases and repayments by month", "dues": "What is owed now, by days past due",
    "vendors": "Vendors dealt with", "chain": "Ledger chain heads",
    "verify_heading": "Verify this report",
    "scale": "300 (highest risk) to 900 (lowest risk)", "band": "Band",
    "no_score": "No score yet", "factors": "What the score is made of",
    "points": "Points", "factor": "Factor", "raise": "What would raise it most",
    "month": "Month (BS)", "dates": "Dates (AD)", "purchases": "Purchases",
    "repayments": "Repayments", "bills": "Bills", "total": "Total (12 months)",
    "vendor": "Vendor", "since": "Since", "billed": "Billed (12 months)",
    "paid": "Paid (12 months)", "owed": "Owed now", "account": "Account", "entry": "Last entry",
    "version": "Entries", "hash": "Hash of the last entry",
    "chain_note": "Each account's entries are chained by their hashes: if any entry were "
                  "changed or removed, the hash of the last one would no longer match the "
                  "ledger. The verification page checks them.",
    "no_heads": "This report carries no chain heads.",
    "months_note": "Purchases: bills on credit, by the day billed. Repayments: payments "
                   "received, not reversed. Amounts in Nepali rupees.",
    "no_vendors": "No vendor has billed this shop yet.",
    "imported_note": "Entries imported from a vendor's own book count on their own dates.",
}


def _day_of(text: str) -> date:
    return formats.nepal_time(datetime.fromisoformat(text.replace("Z", "+00:00"))).date()


_AD_MONTHS_NE = ("जनवरी", "फेब्रुअरी", "मार्च", "अप्रिल", "मे", "जुन", "जुलाई", "अगस्ट",
                 "सेप्टेम्बर", "अक्टोबर", "नोभेम्बर", "डिसेम्बर")


def _span(start: date, end: date, lang: Language) -> str:
    """A Nepal month's AD days: "16 Nov – 15 Dec 2026", "१६ नोभेम्बर – १५ डिसेम्बर"."""
    if lang == "ne":
        return formats.digits(f"{start.day} {_AD_MONTHS_NE[start.month - 1]} – "
                              f"{end.day} {_AD_MONTHS_NE[end.month - 1]}", lang)
    return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"


def _signed(points: int, lang: Language) -> str:
    return formats.digits(f"{points:+d}" if points else "0", lang)


# ---- the page --------------------------------------------------------------------------------

def html(content: dict[str, Any], lang: Language, messages: Messages, *,
         fingerprint: str | None = None, verify_url: str | None = None,
         stylesheet: str = "/static/report.css") -> str:
    """The report as a page (printable, readable on a phone); `stylesheet` is where the page
    finds bot/static/report.css."""
    return _ENV.get_template("report.html").render(
        v=view(content, lang, messages, fingerprint=fingerprint, verify_url=verify_url),
        stylesheet=stylesheet)


# ---- the PDF ---------------------------------------------------------------------------------

Align = Literal["L", "R", "C"]


class _Page(FPDF):
    footer_text: str = ""
    page_word: str = "Page"
    lang: Language = "en"

    # fpdf2 (2.8) draws a cell that fell back to the other font, then does not select the
    # primary font again on the page for the next cell, whose glyphs then come out of the
    # wrong font: say which font each cell is in, every time.
    def cell(self, *args: Any, **kwargs: Any) -> Any:
        self.current_font_is_set_on_page = False
        return super().cell(*args, **kwargs)

    def multi_cell(self, *args: Any, **kwargs: Any) -> Any:
        self.current_font_is_set_on_page = False
        return super().multi_cell(*args, **kwargs)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(style="", size=7)
        self.set_text_color(90, 102, 99)
        number = formats.digits(str(self.page_no()), self.lang)
        self.cell(0, 4, f"{self.footer_text}  ·  {self.page_word} {number}", align="C")
        self.set_text_color(0, 0, 0)


def pdf(content: dict[str, Any], lang: Language, messages: Messages,
        key: Ed25519PrivateKey, *, verify_url: str | None = None) -> bytes:
    """The report as a PDF in `lang`, with its content attached and signed by `key`."""
    fingerprint = report_signing.fingerprint(key.public_key())
    v = view(content, lang, messages, fingerprint=fingerprint, verify_url=verify_url)
    labels = v["w"]
    page = _Page(orientation="portrait", format="A4")
    page.lang = lang
    page.page_word = Words(messages, lang)("Page")
    page.footer_text = f"{v['title']} {v['report_id']}  ·  {fingerprint}"
    page.set_title(f"{v['title']} {v['report_id']}")
    page.set_creator("Khaacho")
    page.set_margins(14, 12, 14)
    page.set_auto_page_break(True, margin=16)
    _fonts(page, lang)
    page.add_page()
    full = page.w - page.l_margin - page.r_margin
    green = (7, 94, 84)
    grey = (90, 102, 99)

    def line(size: float, value: str, *, bold: bool = False, height: float = 5.5,
             color: tuple[int, int, int] = (0, 0, 0)) -> None:
        page.set_font(style="B" if bold else "", size=size)
        page.set_text_color(*color)
        page.multi_cell(full, height, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        page.set_text_color(0, 0, 0)

    def heading(text: str, room: float = 30) -> None:
        if page.get_y() > page.h - 16 - room:
            page.add_page()
        page.ln(3)
        line(11.5, text, bold=True, height=7, color=green)
        page.set_draw_color(*green)
        page.line(page.l_margin, page.get_y(), page.l_margin + full, page.get_y())
        page.set_draw_color(0, 0, 0)
        page.ln(1.5)

    def rows(items: list[Row], label_width: float = 58) -> None:
        for item in items:
            if page.get_y() > page.h - 26:
                page.add_page()
            page.set_font(style="", size=9)
            page.set_text_color(*grey)
            page.cell(label_width, 5.5, _fit(page, item.label, label_width - 2))
            page.set_text_color(0, 0, 0)
            page.set_font(style="B", size=9.5)
            value_width = page.get_string_width(item.value) + 3
            page.cell(value_width, 5.5, item.value)
            if item.note:
                page.set_font(style="", size=7.5)
                page.set_text_color(*grey)
                rest = full - label_width - value_width
                page.multi_cell(rest, 5.5, item.note, align="L", new_x=XPos.LMARGIN,
                                new_y=YPos.NEXT)
                page.set_text_color(0, 0, 0)
            else:
                page.ln(5.5)

    def table(columns: list[tuple[str, float, Align]], body: list[list[str]], *,
              total: list[str] | None = None, size: float = 8.5) -> None:
        widths = [full * share for _, share, _ in columns]

        def header() -> None:
            page.set_font(style="B", size=size)
            page.set_fill_color(230, 236, 240)
            for (label, _, align), width in zip(columns, widths, strict=True):
                page.cell(width, 6.5, _fit(page, label, width - 1.5), border="B", align=align,
                          fill=True)
            page.ln(6.5)

        if any(label for label, _, _ in columns):
            header()
        for cells in body + ([total] if total else []):
            if page.get_y() > page.h - 24:
                page.add_page()
                header()
            page.set_font(style="B" if cells is total else "", size=size)
            for (_, _, align), width, value in zip(columns, widths, cells, strict=True):
                page.cell(width, 5.8, _fit(page, value, width - 1.5), border="B", align=align)
            page.ln(5.8)

    # Title and who
    line(17, v["title"], bold=True, height=9, color=green)
    line(8.5, v["subtitle"], height=4.5, color=grey)
    page.ln(1.5)
    rows(v["head"], label_width=30)

    heading(labels["shop"])
    rows(v["who"])

    score = v["score"]
    heading(labels["score"], room=50)
    if score["value"] is not None:
        top = page.get_y()
        page.set_font(style="B", size=30)
        page.set_text_color(*green)
        page.cell(34, 14, score["value"])
        page.set_font(style="B", size=13)
        page.cell(0, 8, f"{labels['band']} {score['band']}: {score['meaning']}",
                  new_x=XPos.LEFT, new_y=YPos.NEXT)
        page.set_text_color(*grey)
        page.set_font(style="", size=8.5)
        page.set_x(page.l_margin + 34)
        page.cell(0, 5, labels["scale"])
        page.set_text_color(0, 0, 0)
        page.set_y(top + 16)
        table([(labels["points"], 0.12, "R"), (labels["factor"], 0.88, "L")],
              [[f["points"], f["text"]] for f in score["factors"]])
        if score["improvements"]:
            page.ln(2)
            line(9.5, labels["raise"], bold=True)
            for item in score["improvements"]:
                line(9, f"•  {item['text']} ({item['gain']})", height=5)
    else:
        line(13, labels["no_score"], bold=True, height=7)
        line(9.5, score["reason"])

    heading(labels["record"], room=45)
    rows(v["record"])

    heading(labels["months"], room=60)
    table([(labels["month"], 0.25, "L"), (labels["dates"], 0.22, "L"),
           (labels["purchases"], 0.2, "R"), (labels["repayments"], 0.2, "R"),
           (labels["bills"], 0.13, "R")],
          [[m["month"], m["dates"], m["purchases"], m["repayments"], m["bills"]]
           for m in v["months"]],
          total=[labels["total"], "", v["totals"]["purchases"], v["totals"]["repayments"],
                 v["totals"]["bills"]])
    line(7.5, labels["months_note"], height=4.5, color=grey)

    heading(labels["dues"], room=42)
    table([("", 0.45, "L"), ("", 0.2, "R"), ("", 0.35, "L")],
          [[a, b, ""] for a, b in v["ageing"][:-1]],
          total=[*v["ageing"][-1], ""])

    heading(labels["vendors"], room=30)
    if v["vendors"]:
        table([(labels["vendor"], 0.3, "L"), (labels["since"], 0.22, "L"),
               (labels["billed"], 0.16, "R"), (labels["paid"], 0.16, "R"),
               (labels["owed"], 0.16, "R")],
              [[x["name"], x["since"], x["billed"], x["paid"], x["owed"]] for x in v["vendors"]],
              size=8)
    else:
        line(9, labels["no_vendors"])
    line(7.5, labels["imported_note"], height=4.5, color=grey)

    heading(labels["chain"], room=30)
    if v["heads"]:
        table([(labels["vendor"], 0.24, "L"), (labels["account"], 0.1, "R"),
               (labels["version"], 0.1, "R"), (labels["hash"], 0.56, "L")],
              [[h["vendor"], h["account"], h["version"], h["hash"]] for h in v["heads"]],
              size=7)
    else:
        line(9, labels["no_heads"])
    line(7.5, labels["chain_note"], height=4.5, color=grey)

    heading(labels["verify_heading"], room=25)
    line(9, v["signed"], bold=True)
    if v["verify"]:
        line(9, v["verify"])

    page.embed_file(bytes=canonical(content), basename=ATTACHMENT,
                    mime_type="application/json", compress=False)
    _map_cluster_glyphs(page)
    return sign_pdf(bytes(page.output()), key)


def sign_pdf(data: bytes, key: Ed25519PrivateKey) -> bytes:
    """`data` with the signature line appended after its last line."""
    if not data.endswith(b"\n"):
        data += b"\n"
    signature = base64.b64encode(report_signing.sign(key, data))
    fingerprint = report_signing.fingerprint(key.public_key()).encode("ascii")
    return data + SIG_PREFIX + fingerprint + b" " + signature + b"\n"


# ---- verifying -------------------------------------------------------------------------------

VerdictCode = Literal["genuine", "not_pdf", "unsigned", "other_key", "altered", "unreadable"]


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    code: VerdictCode
    reason: str                          # one line, English
    content: dict[str, Any] | None       # what was signed, when genuine
    fingerprint: str | None = None       # the key the file says signed it


def verify_file(data: bytes, public_key: Ed25519PublicKey) -> Verdict:
    """Whether `data` is a report PDF signed by `public_key`, unaltered, and what it says."""
    ours = report_signing.fingerprint(public_key)
    if not data.startswith(b"%PDF-"):
        return Verdict(False, "not_pdf", "this is not a PDF file", None)
    at = data.rfind(b"\n" + SIG_PREFIX)
    if at < 0:
        return Verdict(False, "unsigned",
                       "no Khaacho signature: not a report Khaacho issued, or its last line "
                       "was cut off", None)
    signed, tail = data[:at + 1], data[at + 1:]
    match = _SIG_LINE.fullmatch(tail)
    if match is None:
        return Verdict(False, "altered",
                       "altered after signing: something was added after the signature line, "
                       "or the line itself was changed", None)
    claimed = match.group(1).decode("ascii")
    if claimed != ours:
        return Verdict(False, "other_key",
                       f"signed by another key ({claimed}), not Khaacho's ({ours})", None,
                       claimed)
    try:
        signature = base64.b64decode(match.group(2), validate=True)
    except binascii.Error:
        return Verdict(False, "altered", "altered after signing: the signature is damaged",
                       None, claimed)
    if not report_signing.verify(public_key, signed, signature):
        return Verdict(False, "altered",
                       "altered after signing: its bytes no longer match Khaacho's signature",
                       None, claimed)
    content = attached_content(signed)
    if content is None:
        return Verdict(False, "unreadable",
                       "signed by Khaacho, but it carries no report content this version reads",
                       None, claimed)
    return Verdict(True, "genuine", "genuine and unaltered: signed by Khaacho's key", content,
                   claimed)


def attached_content(data: bytes) -> dict[str, Any] | None:
    """The report content attached to a PDF `pdf` made (read only after its signature held)."""
    match = _ATTACHED.search(data)
    if match is None:
        return None
    start = match.end()
    body = data[start:start + int(match.group(1))]
    try:
        found = json.loads(body.decode("utf-8"))
        bank_report.from_content(found)
    except (UnicodeDecodeError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The platform's report key: from REPORT_SIGNING_KEY, or generated once locally (refused
    with WhatsApp configured: `report_signing.SigningKeyError`)."""
    configured = settings.report_signing_key
    return report_signing.load_key(
        configured.get_secret_value() if configured is not None else None,
        settings.khaacho_data_dir, production=settings.whatsapp_enabled)
