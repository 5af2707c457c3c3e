"""Statements by chat, through the webhook: a summary in the reader's language, then the PDF as
a WhatsApp document (uploaded to the fake Graph API first, then named by its media id)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pypdfium2 as pdfium

from ledger import khata
from locales.formats import NEPAL_TIME
from tests.dialogs.conftest import (
    BHERI,
    HARI,
    KARNALI,
    RAM,
    SITA,
    SURKHET,
    Phone,
    World,
    text_of,
)

ZERO_WIDTH_SPACE = "\u200b"
HEADER = "date,vendor_phone,retailer_phone,retailer_name,kind,amount,reference,due_date,method\n"


def days_ago(days: int) -> str:
    return (datetime.now(NEPAL_TIME).date() - timedelta(days=days)).isoformat()


async def first_contact(*phones: Phone) -> None:
    """The first message of a conversation also offers the other language: out of the way."""
    for phone in phones:
        await phone.say("namaste")


async def import_book(world: World, *rows: str) -> None:
    async with world.pool.acquire() as conn:
        result = await khata.import_book(conn, [HEADER, *(r + "\n" for r in rows)],
                                         starter_limit_paisa=0)
    assert result.ok, result.problems


def pdf_text(content: bytes) -> str:
    """Every page's text as a reader copying it would get it (zero-width spaces dropped)."""
    document = pdfium.PdfDocument(io.BytesIO(content))
    return "\n".join(page.get_textpage().get_text_range() for page in document).replace(
        ZERO_WIDTH_SPACE, "")


async def test_a_retailer_with_several_vendors_chooses_one_and_gets_summary_and_pdf(
    world: World,
) -> None:
    sita = world.phone(SITA)
    await first_contact(sita)
    await import_book(
        world,
        f"{days_ago(40)},{BHERI[3:]},{SITA[3:]},,sale,1500,BH-1,,",
        f"{days_ago(10)},{BHERI[3:]},{SITA[3:]},,payment,500,RC-7,,esewa",
        f"{days_ago(5)},{KARNALI[3:]},{SITA[3:]},,sale,800,KW-1,,",
    )
    listed = await sita.say("statement")
    assert len(listed) == 1 and "Whose statement?" in listed[0].text
    rows = listed[0].choices
    assert rows == [f"statement:vendor:+{BHERI}@90", f"statement:vendor:+{KARNALI}@90"]
    sent = await sita.tap(rows[0])
    summary = text_of(sent[:1])
    assert "Statement of Sita General Store with Bheri Traders, Birendranagar" in summary
    assert "Opening balance: Rs 0" in summary and "Closing balance: Rs 1,000" in summary
    assert "2 entries: Rs 1,500 billed, Rs 500 paid (2 not acknowledged" in summary
    assert "0-30 Rs 0 · 31-60 Rs 1,000" in summary  # the bill is 40 days old
    (document, media) = world.graph.documents_to(SITA)[-1]
    assert sent[1].raw["type"] == "document" and document["filename"].endswith(".pdf")
    assert "Bheri Traders" in document["caption"]
    assert media.mime_type == "application/pdf" and media.content.startswith(b"%PDF")
    text = pdf_text(media.content)
    for words in ("Statement of account", "Sita General Store", "Bheri Traders", "BH-1",
                  "RC-7", "payment (esewa) *", "Rs 1,500", "Closing balance", "Rs 1,000",
                  "from the vendor's old book"):
        assert words in text, words
    assert "KW-1" not in text  # another vendor's account
    # Naming the vendor skips the list; so does a number of days.
    named = await sita.say("statement karnali 7")
    assert "Karnali Wholesale" in named[0].text and named[1].raw["type"] == "document"
    assert "KW-1" in pdf_text(world.graph.documents_to(SITA)[-1][1].content)


async def test_a_nepali_retailer_reads_the_statement_in_nepali_with_devanagari_shaped(
    world: World,
) -> None:
    ram = world.phone(RAM)
    await first_contact(ram)
    await import_book(world, f"{days_ago(3)},{KARNALI[3:]},{RAM[3:]},,sale,2500,बिल-१,,")
    sent = await ram.say("विवरण")
    summary = text_of(sent[:1])
    assert "Ram Kirana Pasal र Karnali Wholesale, Surkhet बीचको खाता विवरण" in summary
    assert "अन्तिम बाँकी: रु २,५००" in summary
    (_, media) = world.graph.documents_to(RAM)[-1]
    text = pdf_text(media.content)
    for words in ("खाता विवरण", "सुरुको बाँकी", "अन्तिम बाँकी", "क्रेडिट", "डेबिट", "स्वीकृत",
                  "बिल-१", "रु २,५००", "थोक विक्रेताको पुरानो खाताबाट"):
        assert words in text, words


async def test_a_vendor_gets_a_statement_of_a_retailer_they_serve_only(world: World) -> None:
    bheri, surkhet = world.phone(BHERI), world.phone(SURKHET)
    await first_contact(bheri, surkhet)
    await import_book(world, f"{days_ago(2)},{BHERI[3:]},{HARI[3:]},,sale,700,H-1,,")
    sent = await bheri.say(f"statement {HARI[3:]}")
    assert "Hari Khadya Bhandar" in sent[0].text and sent[1].raw["type"] == "document"
    assert "H-1" in pdf_text(world.graph.documents_to(BHERI)[-1][1].content)
    refused = text_of(await surkhet.say(f"statement {HARI[3:]}"))
    assert "may not" in refused and not world.graph.documents_to(SURKHET)
    usage = text_of(await surkhet.say("statement"))
    assert 'statement 9820000001' in usage


async def test_a_retailer_without_accounts_is_told_there_is_no_statement(world: World) -> None:
    sita = world.phone(SITA)
    await first_contact(sita)
    assert "no account with a vendor" in text_of(await sita.say("statement"))


async def test_a_failed_upload_is_retried_and_the_document_then_sent(world: World) -> None:
    sita = world.phone(SITA)
    await first_contact(sita)
    await import_book(world, f"{days_ago(1)},{BHERI[3:]},{SITA[3:]},,sale,100,B-9,,")
    world.graph.fail_next_upload(1, 500, {"error": {"code": 1, "message": "try again"}})
    await sita.say("statement bheri")
    documents = world.graph.documents_to(SITA)
    assert len(documents) == 1 and len(world.graph.media) == 1
    async with world.pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT o.attempts, d.media_id FROM outbox o
               JOIN outbox_documents d ON d.id = o.document_id""")
    assert row["attempts"] == 2 and row["media_id"] == documents[0][0]["id"]
