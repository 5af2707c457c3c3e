"""Server-rendered pages for people with a browser: the landing page at `/`, which links to
signing in to the web pages (`web/`). Plain HTML from jinja2 templates in `bot/templates`, one
stylesheet served from `bot/static`, no script: they work without JavaScript, on a phone, under
a strict CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot import demo
from bot.appkeys import SETTINGS
from bot.security import is_loopback
from locales import Language

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "static" / "site.css"
# Only this server's stylesheet; nothing runs, nothing is framed, no form posts anywhere.
POLICY = ("default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'")
# Demo people the landing page offers to chat as, in the simulator (when it is served).
_TRY_AS = ("+9779820000001", "+9779820000002", "+9779810000002", "+9779800000001")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Khaacho — orders and credit for shops, on WhatsApp",
        "brand": "Khaacho",
        "other_language": "नेपालीमा पढ्नुहोस्",
        "heading": "Orders and credit for shops in Nepal, on WhatsApp",
        "lead": "Shops order stock from their wholesalers by chatting — in English, romanized "
                "Nepali or Devanagari — and keep their credit (udharo) in a ledger both sides "
                "can trust.",
        "how": "How it works",
        "steps": [
            'A shop writes its order in its own words — "chini 1 bora, nun 10 packet" or '
            '"चामल २ बोरा" — and Khaacho prices it and asks to confirm.',
            "The wholesaler gets the order, and accepts, dispatches and delivers it with a tap.",
            'Every order and payment goes into a ledger that is never edited: "baki" shows '
            "what is owed and when it is due, with Bikram Sambat dates.",
        ],
        "try": "Try it",
        "try_lead": "Chat as one of the demo people in the simulator (on this machine only):",
        "roles": {"RETAILER": "shop", "VENDOR": "wholesaler", "ADMIN": "admin",
                  "OPERATOR": "operator"},
        "languages": {"en": "writes in English", "ne": "writes in Nepali"},
        "operators": "For operators",
        "healthz": "the server is up",
        "readyz": "the database answers and every migration is applied",
        "dashboard": "Dashboard",
        "dashboard_later": "sign in with a code sent to your WhatsApp",
        "api": "the REST API and its documentation",
        "footer": "Khaacho works in WhatsApp; this page is only its front door.",
    },
    "ne": {
        "title": "खाचो — पसलका लागि WhatsApp मै अर्डर र उधारो",
        "brand": "खाचो",
        "other_language": "Read in English",
        "heading": "नेपालका पसलका लागि WhatsApp मै अर्डर र उधारो हिसाब",
        "lead": "पसलले आफ्नो थोक बिक्रेतासँग च्याट गरेरै सामान मगाउँछ — नेपाली, रोमन नेपाली वा "
                "अंग्रेजीमा — र उधारोको हिसाब दुवैले भरोसा गर्न सक्ने खातामा रहन्छ।",
        "how": "कसरी चल्छ",
        "steps": [
            'पसलले आफ्नै शब्दमा अर्डर लेख्छ — "चामल २ बोरा" वा "chini 1 bora, nun 10 packet" — '
            "खाचोले मूल्य जोडेर पक्का गर्न सोध्छ।",
            "अर्डर थोक बिक्रेताकहाँ पुग्छ; उहाँले बटन थिचेरै स्वीकार गर्नुहुन्छ, पठाउनुहुन्छ र "
            "पुर्‍याउनुहुन्छ।",
            'हरेक अर्डर र भुक्तानी कहिल्यै नमेटिने खातामा चढ्छ: "बाँकी" लेख्दा कति तिर्न बाँकी छ र '
            "कहिलेसम्म, विक्रम संवत् मितिसहित देखिन्छ।",
        ],
        "try": "चलाएर हेर्नुहोस्",
        "try_lead": "सिमुलेटरमा नमुना मान्छे बनेर कुरा गर्नुहोस् (यही कम्प्युटरमा मात्र):",
        "roles": {"RETAILER": "पसल", "VENDOR": "थोक बिक्रेता", "ADMIN": "प्रशासक",
                  "OPERATOR": "सञ्चालक"},
        "languages": {"en": "अंग्रेजीमा लेख्नुहुन्छ", "ne": "नेपालीमा लेख्नुहुन्छ"},
        "operators": "सञ्चालकका लागि",
        "healthz": "सर्भर चलिरहेको छ",
        "readyz": "डाटाबेसले जवाफ दिन्छ र सबै माइग्रेसन लागू छन्",
        "dashboard": "ड्यासबोर्ड",
        "dashboard_later": "तपाईंको WhatsApp मा आउने कोडले साइन इन गर्नुहोस्",
        "api": "REST API र यसको विवरण",
        "footer": "खाचो WhatsApp भित्रै चल्छ; यो पृष्ठ त्यसको मूल ढोका मात्र हो।",
    },
}


def routes(app: web.Application) -> None:
    app.router.add_get("/", landing)
    app.router.add_get("/static/site.css", stylesheet)


def language(request: web.Request) -> Language:
    """`?lang=ne` or `?lang=en`, else the first of the two the browser asks for, else English."""
    asked = request.query.get("lang")
    if asked in ("en", "ne"):
        return "ne" if asked == "ne" else "en"
    for part in request.headers.get("Accept-Language", "").split(",")[:20]:
        tag = part.split(";")[0].strip().lower().split("-")[0]
        if tag in ("en", "ne"):
            return "ne" if tag == "ne" else "en"
    return "en"


async def landing(request: web.Request) -> web.Response:
    """What Khaacho is, how to try it (the simulator, when this client may use it) and the
    operations endpoints, in English or Nepali."""
    lang = language(request)
    simulator = request.app[SETTINGS].simulator_served and is_loopback(request)
    by_phone = {p.phone: p for p in demo.DEMO_USERS}
    people = [by_phone[phone] for phone in _TRY_AS] if simulator else []
    html = _ENV.get_template("landing.html").render(
        lang=lang, other="en" if lang == "ne" else "ne", w=WORDS[lang], people=people)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": POLICY, "Content-Language": lang,
        "Vary": "Accept-Language"})


async def stylesheet(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STYLESHEET, headers={"Cache-Control": "public, max-age=300"})
