"""The bank report as a signed PDF and a page, in both languages; the platform's key (generated
once and reused, refused in production); and verification: a genuine file verifies, and a
flipped byte, edited content, another key, a cut or a lengthened file do not."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from bot import report_doc
from bot.settings import Settings
from ledger import bank_report, report_signing
from ledger.bank_report import (
    Acknowledged,
    BankReport,
    ChainHead,
    Disputes,
    Dues,
    FactorLine,
    Month,
    ScoreLine,
    Shop,
    Timeliness,
    VendorLine,
)
from ledger.report_signing import SigningKeyError
from locales.render import Messages

ZERO_WIDTH_SPACE = "\u200b"
VERIFY_URL = "https://khaacho.example/verify"


def sample() -> dict[str, object]:
    months = tuple(
        Month(2082 + (8 + i) // 12, (8 + i) % 12 + 1, start, end, purchases, repaid, bills)
        for i, (start, end, purchases, repaid, bills) in enumerate(
            [(date(2025, 12, 16), date(2026, 1, 14), 0, 1_000_000, 0)]
            + [(date(2026, 1, 15), date(2026, 2, 12), 2_000_000, 0, 1)] * 10
            + [(date(2026, 11, 17), date(2026, 11, 20), 300_000, 100_000, 1)]))
    report = BankReport(
        report_id="BR-TEST23456X",
        issued_at=datetime(2026, 11, 21, 4, 0, tzinfo=UTC),
        as_of=datetime(2026, 11, 20, 18, 14, 59, 999999, tzinfo=UTC),
        shop=Shop(7, "राम बहादुर", "राम किराना पसल", "वीरेन्द्रनगर-६, सुर्खेत", "+9779820000001",
                  datetime(2025, 12, 1, tzinfo=UTC), date(2025, 12, 10), 5_000_000),
        months=months,
        timeliness=Timeliness(bills_due=5, bills_on_time=2, average_days_past_due=20,
                              worst_days_past_due=50),
        dues=Dues(1_400_000, 300_000, (0, 1_100_000, 0, 0), 50),
        vendors=(VendorLine(5, "हिमाल ट्रेडर्स", date(2025, 12, 10), 3_900_000, 3_600_000,
                            300_000),
                 VendorLine(6, "Terai Wholesale", date(2026, 9, 1), 1_100_000, 0, 1_100_000)),
        disputes=Disputes(1, 1),
        acknowledged=Acknowledged(8_600_000, 2_150_000),
        score=ScoreLine(612, "C", "moderate risk: watch the dues",
                        "मध्यम जोखिम: बाँकीमा ध्यान दिनुहोस्", None, None,
                        (FactorLine("timeliness", -40, "Paid 40% of bills on time",
                                    "४०% बिल समयमै तिर्नुभयो"),
                         FactorLine("tenure", 0, "Buying on credit through Khaacho for 11 months",
                                    "खाचोमार्फत ११ महिनादेखि उधारो किनमेल")),
                        (FactorLine("on_time", 80, "Pay each bill by its due date",
                                    "हरेक बिल भाखाभित्रै तिर्नुहोस्"),)),
        heads=(ChainHead(1, 5, 12, 8, "9f" * 32),))
    return bank_report.content(report)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def text_of(content: bytes) -> str:
    document = pdfium.PdfDocument(io.BytesIO(content))
    return "\n".join(p.get_textpage().get_text_range() for p in document).replace(
        ZERO_WIDTH_SPACE, "")


def test_the_pdf_reads_in_english_with_each_figure_labelled(key: Ed25519PrivateKey) -> None:
    data = report_doc.pdf(sample(), "en", Messages(), key, verify_url=VERIFY_URL)
    text = " ".join(text_of(data).split())
    for expected in ("Credit report", "BR-TEST23456X", "राम किराना पसल", "612", "Band C",
                     "moderate risk", "Bills paid on time 40%", "2 of the 5 bills",
                     "Average days past due 20 days", "Worst days past due 50 days",
                     "Owed now Rs 14,000", "Overdue now Rs 11,000", "1 raised, 1 open",
                     "Acknowledged by both sides 25%", "Poush 2082", "Mangsir 2083 (to date)",
                     "31–60 days past due Rs 11,000", "Terai Wholesale", "9f9f9f",
                     report_signing.fingerprint(key.public_key()), VERIFY_URL,
                     "https://khaacho.example/report-key", "Pay each bill by its due date"):
        assert expected in text, expected


def test_the_pdf_reads_in_nepali_with_devanagari_digits_and_bs_months(
    key: Ed25519PrivateKey,
) -> None:
    data = report_doc.pdf(sample(), "ne", Messages(), key, verify_url=VERIFY_URL)
    text = " ".join(text_of(data).split())
    for expected in ("उधारो कारोबार प्रतिवेदन", "६१२", "श्रेणी C", "मध्यम जोखिम",
                     "समयमै तिरिएका बिल ४०%", "अहिलेको बाँकी रु १४,०००", "२०८२ पुस",
                     "२०८३ मंसिर (हालसम्म)", "हिमाल ट्रेडर्स", "हरेक बिल भाखाभित्रै तिर्नुहोस्",
                     "दुवै पक्षले स्वीकारेको २५%"):
        assert expected in text, expected
    assert "Bills paid on time" not in text


def test_a_genuine_pdf_verifies_and_carries_exactly_what_was_signed(
    key: Ed25519PrivateKey,
) -> None:
    content = sample()
    data = report_doc.pdf(content, "en", Messages(), key)
    verdict = report_doc.verify_file(data, key.public_key())
    assert verdict.genuine and verdict.code == "genuine", verdict.reason
    assert verdict.content == content
    assert verdict.fingerprint == report_signing.fingerprint(key.public_key())
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[1]
    assert last.startswith(b"%KHAACHO-SIG " + verdict.fingerprint.encode() + b" ")
    assert report_doc.canonical(content) in data  # the attachment, as canonical JSON
    assert "verification page (/verify)" in " ".join(text_of(data).split())  # where, still


def test_any_altered_byte_another_key_or_a_cut_file_is_not_genuine(
    key: Ed25519PrivateKey,
) -> None:
    content = sample()
    data = report_doc.pdf(content, "en", Messages(), key)
    public = key.public_key()
    middle = len(data) // 2
    flipped = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]
    assert report_doc.verify_file(flipped, public).code == "altered"
    # The attached content edited to say less is owed (same length: nothing else moves).
    owed = b'"owed_paisa":1400000'
    assert owed in data
    edited = data.replace(owed, b'"owed_paisa":1000000', 1)
    verdict = report_doc.verify_file(edited, public)
    assert (verdict.genuine, verdict.code, verdict.content) == (False, "altered", None)
    other = Ed25519PrivateKey.generate()
    assert report_doc.verify_file(report_doc.pdf(content, "en", Messages(), other),
                                  public).code == "other_key"
    # Re-signed by another key but claiming ours: the signature itself fails.
    body = data[:data.rindex(b"%KHAACHO-SIG")]
    forged = report_doc.sign_pdf(body, other).replace(
        report_signing.fingerprint(other.public_key()).encode(),
        report_signing.fingerprint(public).encode())
    assert report_doc.verify_file(forged, public).code == "altered"
    assert report_doc.verify_file(body, public).code == "unsigned"
    assert report_doc.verify_file(data + b"%more\n", public).code == "altered"
    assert report_doc.verify_file(data[:-10], public).code in ("altered", "unsigned")
    assert report_doc.verify_file(b"hello", public).code == "not_pdf"


def test_the_signed_pdf_still_opens_in_a_pdf_reader(key: Ed25519PrivateKey) -> None:
    data = report_doc.pdf(sample(), "ne", Messages(), key)
    document = pdfium.PdfDocument(io.BytesIO(data))
    assert len(document) >= 1
    image = document[0].render(scale=0.5).to_pil()
    assert image.width > 100


def test_the_page_shows_the_same_report_in_both_languages_without_script() -> None:
    content = sample()
    english = report_doc.html(content, "en", Messages(), fingerprint="ab12-cd34-ef56-7890",
                              verify_url=VERIFY_URL)
    nepali = report_doc.html(content, "ne", Messages(), fingerprint="ab12-cd34-ef56-7890",
                             verify_url=VERIFY_URL)
    for page in (english, nepali):
        assert "<script" not in page and "राम किराना पसल" in page and "BR-TEST23456X" in page
        assert 'href="/static/report.css"' in page and "ab12-cd34-ef56-7890" in page
    assert '<html lang="en">' in english and "Rs 14,000" in english and "Poush 2082" in english
    assert '<html lang="ne">' in nepali and "रु १४,०००" in nepali and "२०८२ पुस" in nepali
    assert "Owed now" not in nepali


def test_the_key_is_generated_once_private_to_its_owner_and_reused(tmp_path: Path) -> None:
    first = report_signing.load_key(None, tmp_path, production=False)
    path = tmp_path / report_signing.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = report_signing.load_key(None, tmp_path, production=False)
    assert report_signing.fingerprint(again.public_key()) == report_signing.fingerprint(
        first.public_key())
    # Production may read one that exists, never make one.
    assert report_signing.load_key(None, tmp_path, production=True) is not None


def test_production_refuses_to_generate_a_key_and_uses_the_configured_one(
    tmp_path: Path, settings: Settings,
) -> None:
    production = settings.model_copy(update={
        "whatsapp_access_token": SecretStr("token"), "whatsapp_phone_number_id": "123",
        "khaacho_data_dir": tmp_path, "report_signing_key": None})
    with pytest.raises(SigningKeyError, match="REPORT_SIGNING_KEY"):
        report_doc.signing_key(production)
    assert not (tmp_path / report_signing.KEY_FILE).exists()
    chosen = Ed25519PrivateKey.generate()
    configured = production.model_copy(update={
        "report_signing_key": SecretStr(report_signing.private_to_text(chosen))})
    assert report_signing.fingerprint(report_doc.signing_key(configured).public_key()) == (
        report_signing.fingerprint(chosen.public_key()))
    for bad in ("not base64!", "c2hvcnQ="):
        with pytest.raises(SigningKeyError):
            report_signing.private_from_text(bad)


def test_the_canonical_json_is_sorted_compact_and_unescaped() -> None:
    content = sample()
    text = report_doc.canonical(content).decode("utf-8")
    assert text == json.dumps(content, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False)
    assert "राम किराना पसल" in text and "\": " not in text and ", \"" not in text
