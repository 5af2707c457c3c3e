"""A retailer shares a bank report through the real pipeline (webhook → dialog → outbox → fake
Graph API) and a bank officer opens its link on the same app: no link without Agree, every view
logged, expired and revoked links refused politely, revocation once, nobody else's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ledger import bank_reports, users
from tests.dialogs.conftest import ADMIN, BHERI, RAM, SITA, Phone, Sent, World, text_of

LINK = re.compile(r"http://127\.0\.0\.1:8080/r/([A-Za-z0-9_-]{43})")


async def _count(world: World) -> int:
    async with world.pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM bank_reports")
        return count


def _choice(sent: list[Sent], prefix: str) -> str:
    found = [c for s in sent for c in s.choices if c.startswith(prefix)]
    assert found, (prefix, [s.choices for s in sent])
    return found[-1]


async def _shared(phone: Phone, name: str = "NIC Asia Bank") -> str:
    """Ask for a report for `name`, agree; the link's token."""
    consent = await phone.say(f"report for {name}")
    issued = text_of(await phone.tap(_choice(consent, "report:consent:"), "Agree"))
    found = LINK.search(issued)
    assert found is not None, issued
    return found.group(1)


async def test_no_link_without_agree(world):
    sita = world.phone(SITA)
    asked = text_of(await sita.say("report"))
    assert "Who is the report for?" in asked
    consent = await sita.say("NIC Asia Bank")
    words = text_of(consent)
    assert "Share your credit report with NIC Asia Bank?" in words
    assert "7 days" in words and "revoke" in words and "purchases and repayments" in words
    agree, cancel = consent[-1].choices
    assert agree.startswith("report:consent:") and cancel.startswith("report:cancel:")
    assert "Cancelled" in text_of(await sita.tap(cancel, "Cancel"))
    assert await _count(world) == 0
    # Named at once; then something else is said instead of Agree: nothing is issued.
    again = await sita.say("bank report for Global IME Bank")
    assert "Share your credit report with Global IME Bank?" in text_of(again)
    await sita.say("baki")
    assert await _count(world) == 0
    # The first consent's Agree, after its Cancel, issues nothing either.
    assert "no longer open" in text_of(await sita.tap(agree, "Agree"))
    assert await _count(world) == 0 and not LINK.search(text_of(sita.inbox()))


async def test_the_link_opens_the_report_page_and_pdf_and_each_view_is_logged(world):
    sita = world.phone(SITA)
    token = await _shared(sita)
    assert await _count(world) == 1
    page = await world.client.get(f"/r/{token}", headers={"User-Agent": "BankBrowser/1.0"})
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert '<html lang="en">' in html and "NIC Asia Bank" in html
    assert f'href="/r/{token}/pdf?lang=en"' in html and f'href="/r/{token}?lang=ne"' in html
    for header, value in (("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")):
        assert page.headers[header] == value
    assert "noindex" in page.headers["X-Robots-Tag"]
    nepali = await world.client.get(f"/r/{token}", params={"lang": "ne"})
    assert '<html lang="ne">' in await nepali.text()
    pdf = await world.client.get(f"/r/{token}/pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment; filename=")
    assert (await pdf.read()).startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store"
    async with world.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, outcome, client_address, user_agent FROM bank_report_views ORDER BY id")
    assert [(r["kind"], r["outcome"], r["client_address"]) for r in rows] == [
        ("page", "shown", "127.0.0.1"), ("page", "shown", "127.0.0.1"),
        ("pdf", "shown", "127.0.0.1")]
    assert rows[0]["user_agent"] == "BankBrowser/1.0"
    # The shop hears once that its report was opened.
    await world.settle()
    notices = [s for s in sita.inbox() if "was opened for the first time" in s.text]
    assert len(notices) == 1 and "NIC Asia Bank" in notices[0].text
    listed = text_of(await sita.say("reports"))
    assert "NIC Asia Bank" in listed and "opened 3 times" in listed


async def test_revoked_by_its_button_twice_then_the_link_is_gone_without_leaking(world):
    sita = world.phone(SITA)
    token = await _shared(sita, "Sanima Bank")
    listing = await sita.say("reports")
    revoke = _choice(listing, "report:revoke:BR-")
    assert "Revoked" in text_of(await sita.tap(revoke, "Revoke"))
    assert "already revoked" in text_of(await sita.tap(revoke, "Revoke"))
    for path in (f"/r/{token}", f"/r/{token}/pdf"):
        gone = await world.client.get(path)
        assert gone.status == 410 and gone.headers["Cache-Control"] == "no-store"
        html = await gone.text()
        assert "withdrawn this report" in html and "फिर्ता लिएको" in html
        assert "Sanima" not in html and "Sita" not in html
    async with world.pool.acquire() as conn:
        outcomes = await conn.fetch("SELECT kind, outcome FROM bank_report_views ORDER BY id")
    assert [(r["kind"], r["outcome"]) for r in outcomes] == [("page", "revoked"),
                                                            ("pdf", "revoked")]
    assert "no report links that still work" in text_of(await sita.say("reports"))


async def test_an_expired_link_is_gone_and_an_unknown_one_not_found(world):
    async with world.pool.acquire() as conn:
        sita = await users.by_phone(conn, f"+{SITA}")
        assert sita is not None
        issued = await bank_reports.issue(conn, sita, institution="Global IME Bank",
                                          language="en",
                                          now=datetime.now(UTC) - timedelta(days=7, minutes=1))
    gone = await world.client.get(f"/r/{issued.token}", params={"lang": "ne"})
    html = await gone.text()
    assert gone.status == 410 and "म्याद सकियो" in html and "has expired" in html
    assert html.index("म्याद सकियो") < html.index("has expired")  # the asked language first
    assert "Global IME" not in html
    for token in ("x" * 43, "short", issued.token[:-1] + "_"):
        missing = await world.client.get(f"/r/{token}")
        assert missing.status == 404 and "not valid" in await missing.text()
        assert missing.headers["X-Robots-Tag"].startswith("noindex")


async def test_a_retailer_cannot_revoke_another_shops_report(world):
    token = await _shared(world.phone(SITA))
    ref = _choice(await world.phone(SITA).say("reports"), "report:revoke:")
    refused = text_of(await world.phone(RAM).tap(ref, "Revoke"))
    assert "भेटिएन" in refused
    assert (await world.client.get(f"/r/{token}")).status == 200


async def test_a_vendor_saying_report_is_not_offered_one_and_staff_keep_their_report(world):
    bheri = text_of(await world.phone(BHERI).say("report"))
    assert "Share your credit report" not in bheri and "Who is the report for" not in bheri
    admin = text_of(await world.phone(ADMIN).say("report"))
    assert "Share your credit report" not in admin and "Who is the report for" not in admin
    assert await _count(world) == 0


async def test_the_institution_is_asked_again_until_it_is_a_name(world):
    sita = world.phone(SITA)
    await sita.say("report")
    assert "in letters" in text_of(await sita.say("9851012345"))
    assert "in letters" in text_of(await sita.say("🏦🏦🏦"))
    assert "too long" in text_of(await sita.say("Bank " * 20))
    consent = text_of(await sita.say("  Nabil   Bank "))
    assert "Share your credit report with Nabil Bank?" in consent
    assert await _count(world) == 0


async def test_help_and_cancel_work_mid_flow_and_an_open_draft_stays(world):
    sita = world.phone(SITA)
    draft = text_of(await sita.say("chini 1 bora"))
    assert "Confirm" in draft or "D-" in draft
    await sita.say("report")
    assert '"report": share your credit report' in text_of(await sita.say("help"))
    assert "Cancelled: no report was made" in text_of(await sita.say("cancel"))
    placed = text_of(await sita.say("ho"))
    assert "KH-" in placed, placed
    assert await _count(world) == 0


async def test_nepali_words_ask_and_list_in_nepali(world):
    ram = world.phone(RAM)
    for said in ("बैंक रिपोर्ट", "riport", "रिपोर्ट"):
        asked = text_of(await ram.say(said))
        assert "रिपोर्ट कसका लागि हो?" in asked, (said, asked)
        await ram.say("रद्द")
    consent = await ram.say("नबिल बैंकको लागि रिपोर्ट")
    assert "नबिल बैंक" in text_of(consent) and "सहमत" in text_of(consent)
    issued = text_of(await ram.tap(_choice(consent, "report:consent:"), "सहमत छु"))
    assert "सम्म चल्छ" in issued and "२०८" in issued  # the expiry in Bikram Sambat
    listed = text_of(await ram.say("रिपोर्टहरू"))
    assert "नबिल बैंक" in listed and "अझै खोलिएको छैन" in listed


async def test_a_name_with_markup_is_shown_as_text_on_the_page(world):
    token = await _shared(world.phone(SITA), "<b>Bank</b> of <i>Trust</i>")
    html = await (await world.client.get(f"/r/{token}")).text()
    assert "&lt;b&gt;Bank&lt;/b&gt;" in html and "<b>Bank</b>" not in html


async def test_an_agree_older_than_thirty_minutes_shares_nothing(world):
    sita = world.phone(SITA)
    consent = await sita.say("report for Nabil Bank")
    async with world.pool.acquire() as conn:  # the consent was asked 31 minutes ago
        await conn.execute(
            """UPDATE conversations SET data = jsonb_set(data, '{bank_report,asked_at}',
                                                         to_jsonb($2::text))
               WHERE user_id = (SELECT id FROM users WHERE phone = $1)""",
            f"+{SITA}", (datetime.now(UTC) - timedelta(minutes=31)).isoformat())
    assert "no longer open" in text_of(await sita.tap(_choice(consent, "report:consent:")))
    assert await _count(world) == 0


async def test_typing_yes_at_the_consent_asks_for_the_tap_and_shares_nothing(world):
    sita = world.phone(SITA)
    await sita.say("report for Nabil Bank")
    again = await sita.say("yes")
    assert "tap Agree" in text_of(again) and again[-1].choices[0].startswith("report:consent:")
    assert await _count(world) == 0
    assert LINK.search(text_of(await sita.tap(again[-1].choices[0], "Agree")))
    assert await _count(world) == 1
