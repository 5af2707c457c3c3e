"""Pages a bank uses to trust a report: `/verify` (upload a report PDF: genuine and unaltered,
or not and why; are its chain heads still in the ledger) and `/report-key` (the public key and
its fingerprint, to verify offline), in English or Nepali, without script.

`POST /verify` answers JSON to a client that asks for it (`Accept: application/json`), a page
otherwise; an upload that is missing, too large or not a PDF gets a polite page (or JSON) and
its status (400, 413, 415)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import jinja2
from aiohttp import BodyPartReader, web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bot import report_doc
from bot.appkeys import POOL, SETTINGS
from bot.pages import language
from ledger import bank_report, report_signing
from ledger.report_signing import SigningKeyError
from locales import Language, formats

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "report.css"
MAX_UPLOAD_BYTES = 2 * 1024 * 1024   # a report is well under 200 KB
MAX_PARTS = 5
# Its own stylesheet, and the form posts only back here.
POLICY = ("default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Verify a Khaacho credit report",
        "lead": "Upload a credit report PDF that Khaacho issued. This page checks its "
                "Ed25519 signature over every byte of the file, so any change at all is found, "
                "and whether the ledger entries it names are still in Khaacho's ledger.",
        "file": "Report PDF", "check": "Check the report", "other_language": "नेपालीमा",
        "genuine": "Genuine and unaltered", "not_genuine": "Not genuine",
        "signed_by": "Signed by Khaacho's key", "what": "What was issued",
        "chain": "Ledger chain", "key": "Public key", "key_lead":
            "Khaacho signs reports with this Ed25519 key. To verify offline, check the last "
            "line of the PDF (%KHAACHO-SIG fingerprint signature): the base64 signature is "
            "over every byte before that line.",
        "fingerprint": "Fingerprint", "download_key": "The public key (PEM)",
        "report": "Report", "shop": "Shop", "phone": "Phone", "as_of": "As of",
        "issued": "Issued", "score": "Score", "no_score": "no score", "owed": "Owed then",
        "on_time": "Bills paid on time",
        "chain_ok": "All {count} chain heads are still in the ledger, with the same hashes.",
        "chain_none": "The report names no chain heads.",
        "chain_bad": "These chain heads no longer match the ledger:",
        "chain_offline": "The database could not be reached: the chain heads were not checked "
                         "(the signature was).",
        "not_pdf": "This is not a PDF file. Upload the report as Khaacho sent it.",
        "unsigned": "This PDF carries no Khaacho signature: Khaacho did not issue it, or its "
                    "end was cut off.",
        "other_key": "This PDF was signed by another key, not Khaacho's.",
        "altered": "This PDF was changed after Khaacho signed it: do not rely on it.",
        "unreadable": "Khaacho's signature holds, but this version cannot read the report in "
                      "it.",
        "no_file": "No file was uploaded: choose the report PDF, then check it.",
        "too_large": "The file is too large for a Khaacho report (at most {size} MB).",
        "no_key": "Report verification is not set up on this server yet.",
        "how": "Where to verify: {url}",
    },
    "ne": {
        "title": "खाचो उधारो प्रतिवेदन प्रमाणित गर्नुहोस्",
        "lead": "खाचोले जारी गरेको उधारो प्रतिवेदनको PDF अपलोड गर्नुहोस्। यो पृष्ठले फाइलको "
                "हरेक बाइटमाथिको Ed25519 हस्ताक्षर जाँच्छ, त्यसैले अलिकति मात्र बदलिए पनि थाहा "
                "हुन्छ; साथै त्यसमा उल्लेखित कारोबार खाचोको खातामा अझै छन् कि छैनन् भनेर पनि।",
        "file": "प्रतिवेदनको PDF", "check": "प्रतिवेदन जाँच्नुहोस्", "other_language": "English",
        "genuine": "सक्कली र नबदलिएको", "not_genuine": "सक्कली होइन",
        "signed_by": "खाचोको साँचोले हस्ताक्षर गरेको", "what": "जारी गरिएको विवरण",
        "chain": "खाता श्रृङ्खला", "key": "सार्वजनिक साँचो", "key_lead":
            "खाचोले प्रतिवेदनमा यही Ed25519 साँचोले हस्ताक्षर गर्छ। इन्टरनेटबिना जाँच्न PDF को "
            "अन्तिम लाइन (%KHAACHO-SIG fingerprint signature) हेर्नुहोस्: base64 हस्ताक्षर त्यो "
            "लाइनअघिका सबै बाइटमाथि हो।",
        "fingerprint": "औँठाछाप", "download_key": "सार्वजनिक साँचो (PEM)",
        "report": "प्रतिवेदन नं.", "shop": "पसल", "phone": "फोन", "as_of": "यस मितिसम्म",
        "issued": "जारी", "score": "स्कोर", "no_score": "स्कोर छैन", "owed": "त्यसबेलाको बाँकी",
        "on_time": "समयमै तिरिएका बिल",
        "chain_ok": "श्रृङ्खलाका सबै {count} अन्तिम कारोबार उही ह्याससहित खातामा अझै छन्।",
        "chain_none": "यो प्रतिवेदनमा श्रृङ्खलाका ह्यास छैनन्।",
        "chain_bad": "श्रृङ्खलाका यी कारोबार अब खातासँग मिल्दैनन्:",
        "chain_offline": "डाटाबेससम्म पुग्न सकिएन: श्रृङ्खला जाँचिएन (हस्ताक्षर जाँचियो)।",
        "not_pdf": "यो PDF फाइल होइन। खाचोले पठाएकै प्रतिवेदन अपलोड गर्नुहोस्।",
        "unsigned": "यो PDF मा खाचोको हस्ताक्षर छैन: खाचोले जारी गरेको होइन, वा यसको अन्तिम भाग "
                    "काटिएको छ।",
        "other_key": "यो PDF खाचोको होइन, अर्कै साँचोले हस्ताक्षर गरिएको हो।",
        "altered": "खाचोले हस्ताक्षर गरेपछि यो PDF बदलिएको छ: यसमा भर नपर्नुहोस्।",
        "unreadable": "खाचोको हस्ताक्षर मिल्छ, तर यो संस्करणले भित्रको प्रतिवेदन पढ्न सकेन।",
        "no_file": "कुनै फाइल अपलोड भएन: प्रतिवेदनको PDF छानेर जाँच्नुहोस्।",
        "too_large": "खाचो प्रतिवेदनका लागि फाइल धेरै ठूलो छ (बढीमा {size} MB)।",
        "no_key": "यो सर्भरमा प्रतिवेदन प्रमाणीकरण अझै मिलाइएको छैन।",
        "how": "प्रमाणित गर्ने ठाउँ: {url}",
    },
}


def routes(app: web.Application) -> None:
    app.router.add_get("/verify", verify_form)
    app.router.add_post("/verify", verify_upload)
    app.router.add_get("/report-key", report_key)
    # The report's stylesheet, unless the report's own pages (the consented link) serve it.
    if not any(getattr(r.resource, "canonical", None) == "/static/report.css"
               for r in app.router.routes()):
        app.router.add_get("/static/report.css", stylesheet)


@dataclass(frozen=True)
class ChainStatus:
    state: str                 # "ok", "none", "bad", "offline"
    problems: tuple[str, ...] = ()
    count: int = 0


def _public_key(request: web.Request) -> Ed25519PublicKey | None:
    try:
        return report_doc.signing_key(request.app[SETTINGS]).public_key()
    except SigningKeyError as exc:
        log.warning("report verification without a key: %s", exc)
        return None


def _page(request: web.Request, lang: Language, status: int = 200, **context: Any
          ) -> web.Response:
    defaults: dict[str, Any] = {"verdict": None, "message": None, "report": None,
                                "chain": None, "fingerprint": None}
    html = _ENV.get_template("verify.html").render(
        lang=lang, other="en" if lang == "ne" else "ne", w=WORDS[lang], **{**defaults, **context})
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": POLICY, "Content-Language": lang,
                                 "Cache-Control": "no-store"})


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _refuse(request: web.Request, lang: Language, status: int, code: str, **fields: object
            ) -> web.Response:
    message = WORDS[lang][code].format(**fields)
    if _wants_json(request):
        return web.json_response({"genuine": False, "code": code,
                                  "reason": WORDS["en"][code].format(**fields)}, status=status)
    key = _public_key(request)
    return _page(request, lang, status, message=message,
                 fingerprint=report_signing.fingerprint(key) if key else None)


async def verify_form(request: web.Request) -> web.Response:
    """The upload form, with the key's fingerprint."""
    lang = language(request)
    key = _public_key(request)
    return _page(request, lang, fingerprint=report_signing.fingerprint(key) if key else None)


async def _read_upload(request: web.Request) -> bytes | str:
    """The uploaded file's bytes, or why there are none ("no_file", "too_large")."""
    if (request.content_length or 0) > MAX_UPLOAD_BYTES + 64 * 1024:
        return "too_large"
    try:
        reader = await request.multipart()
    except (AssertionError, KeyError, ValueError):  # not multipart/form-data at all
        return "no_file"
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data += chunk
            if len(data) > MAX_UPLOAD_BYTES:
                return "too_large"
        return bytes(data) if data else "no_file"
    return "no_file"


async def verify_upload(request: web.Request) -> web.Response:
    """Whether the uploaded PDF is a genuine, unaltered report, what it says, and whether its
    chain heads are still in the ledger."""
    lang = language(request)
    key = _public_key(request)
    if key is None:
        return _refuse(request, lang, 503, "no_key")
    data = await _read_upload(request)
    if data == "too_large":
        return _refuse(request, lang, 413, "too_large", size=MAX_UPLOAD_BYTES // (1024 * 1024))
    if not isinstance(data, bytes):
        return _refuse(request, lang, 400, "no_file")
    verdict = report_doc.verify_file(data, key)
    if verdict.code == "not_pdf":
        return _refuse(request, lang, 415, "not_pdf")
    chain = None
    if verdict.genuine and verdict.content is not None:
        chain = await _chain(request, verdict.content)
    log.info("report verified", extra={"genuine": verdict.genuine, "code": verdict.code})
    if _wants_json(request):
        return web.json_response({
            "genuine": verdict.genuine, "code": verdict.code, "reason": verdict.reason,
            "fingerprint": verdict.fingerprint,
            "chain": None if chain is None else {"state": chain.state,
                                                 "problems": list(chain.problems)},
            "content": verdict.content})
    return _page(request, lang, verdict=verdict,
                 message=None if verdict.genuine else WORDS[lang][verdict.code],
                 report=_summary(verdict.content, lang) if verdict.content else None,
                 chain=chain, fingerprint=report_signing.fingerprint(key))


async def _chain(request: web.Request, content: dict[str, Any]) -> ChainStatus:
    heads = bank_report.from_content(content).heads
    if not heads:
        return ChainStatus("none")
    try:
        async with request.app[POOL].acquire() as conn:
            problems = await bank_report.check_heads(conn, heads)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("chain heads not checked: %s", exc)
        return ChainStatus("offline")
    return ChainStatus("bad" if problems else "ok", tuple(problems), len(heads))


def _summary(content: dict[str, Any], lang: Language) -> list[tuple[str, str]]:
    w = WORDS[lang]
    shop, score, t = content["shop"], content["score"], content["timeliness"]

    def moment(text: str) -> str:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return f"{formats.day(at, lang)} {formats.clock(at, lang)}"

    scored = (formats.digits(f"{score['score']} ({score['band']})", lang)
              if score["score"] is not None else w["no_score"])
    on_time = (formats.digits(f"{t['bills_on_time']}/{t['bills_due']}", lang)
               if t["bills_due"] else "–")
    return [
        (w["report"], content["report_id"]),
        (w["shop"], f"{shop['shop_name']} ({shop['name']})"),
        (w["phone"], formats.digits(shop["phone"] or "–", lang)),
        (w["as_of"], moment(content["as_of"])),
        (w["issued"], moment(content["issued_at"])),
        (w["score"], scored),
        (w["owed"], formats.money(content["dues"]["owed_paisa"], lang)),
        (w["on_time"], on_time),
    ]


async def report_key(request: web.Request) -> web.Response:
    """The public key as PEM (`?format=pem`, or asked for as a file), else a page with it."""
    lang = language(request)
    key = _public_key(request)
    if key is None:
        return _refuse(request, lang, 503, "no_key")
    pem = report_signing.public_pem(key)
    fingerprint = report_signing.fingerprint(key)
    if request.query.get("format") == "pem" or "application/x-pem-file" in request.headers.get(
            "Accept", ""):
        return web.Response(text=pem, content_type="application/x-pem-file", headers={
            "Content-Disposition": 'attachment; filename="khaacho-report-key.pem"',
            "X-Key-Fingerprint": fingerprint})
    html = _ENV.get_template("report_key.html").render(
        lang=lang, other="en" if lang == "ne" else "ne", w=WORDS[lang], pem=pem,
        fingerprint=fingerprint)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": POLICY, "Content-Language": lang})


async def stylesheet(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STYLESHEET, headers={"Cache-Control": "public, max-age=300"})
