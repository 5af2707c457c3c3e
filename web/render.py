"""Pages as HTML: jinja2 templates in `web/templates`, one environment per language with the
formats chat uses (`money`, `number`, `day`, `clock`, `digits`), the page language (asked for,
remembered in a cookie, else the signed-in person's, else the browser's) and the page policy.

Each page module keeps its words in both languages (a `WORDS` dict, as `bot/pages.py` does) and
calls `render(request, "its.html", words, ...)`; `BASE` holds the words every page shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from locales import LANGUAGES, Language, formats
from web.session import csrf_token, secure_cookies, session_of, set_new_csrf_cookie

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LANG_COOKIE = "khaacho_lang"
LANG_COOKIE_DAYS = 365
# Pages load only this server's stylesheets and images, run no script, and post forms only here.
# A page that needs more (a vendored script) passes its own `policy`.
POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
          "base-uri 'none'; frame-ancestors 'none'")

BASE: dict[Language, dict[str, str]] = {
    "en": {
        "brand": "Khaacho",
        "other_language": "नेपाली",
        "signed_in_as": "Signed in as",
        "sign_out": "Sign out",
        "sign_out_everywhere": "Sign out everywhere",
        "home": "Home",
        "api_docs": "API",
        "forbidden_title": "Not for you",
        "forbidden": "This page is not open to your role.",
        "expired_title": "Please try again",
        "expired": "This form has expired or did not come from this site. Go back, reload the "
                   "page and send it again.",
    },
    "ne": {
        "brand": "खाचो",
        "other_language": "English",
        "signed_in_as": "साइन इन",
        "sign_out": "साइन आउट",
        "sign_out_everywhere": "सबै ठाउँबाट साइन आउट",
        "home": "गृहपृष्ठ",
        "api_docs": "API",
        "forbidden_title": "तपाईंका लागि होइन",
        "forbidden": "यो पृष्ठ तपाईंको भूमिकाका लागि खुला छैन।",
        "expired_title": "फेरि प्रयास गर्नुहोस्",
        "expired": "यो फारमको म्याद सकियो वा यो यही साइटबाट आएको होइन। पछाडि गएर पृष्ठ फेरि "
                   "खोल्नुहोस् र पठाउनुहोस्।",
    },
}


def _environment(lang: Language) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the build (as locales/render.py)
    )
    env.filters.update(
        money=partial(formats.money, lang=lang),
        number=partial(formats.number, lang=lang),
        day=partial(formats.day, lang=lang),
        clock=partial(formats.clock, lang=lang),
        digits=partial(formats.digits, lang=lang),
    )
    return env


_ENVS: dict[Language, jinja2.Environment] = {lang: _environment(lang) for lang in LANGUAGES}


def _pick(value: str | None) -> Language | None:
    return "ne" if value == "ne" else "en" if value == "en" else None


def browser_language(request: web.Request) -> Language | None:
    for part in request.headers.get("Accept-Language", "").split(",")[:20]:
        tag = part.split(";")[0].strip().lower().split("-")[0]
        if tag in ("en", "ne"):
            return _pick(tag)
    return None


def page_language(request: web.Request, user_language: Language | None = None) -> Language:
    """`?lang=`, else the remembered choice (cookie), else the signed-in person's language,
    else the browser's, else English."""
    return (_pick(request.query.get("lang")) or _pick(request.cookies.get(LANG_COOKIE))
            or user_language or browser_language(request) or "en")


def with_lang(request: web.Request, lang: Language) -> str:
    """This page's address with `?lang=` set: the language toggle's link."""
    query = {k: v for k, v in request.query.items() if k != "lang"}
    query["lang"] = lang
    return request.path + "?" + urlencode(query)


def render(
    request: web.Request, template: str, words: Mapping[Language, Mapping[str, Any]] | None = None,
    *, status: int = 200, policy: str = POLICY, user_language: Language | None = None,
    **context: Any,
) -> web.Response:
    """The page `template` in the page language, with `w` (BASE and this page's words), `lang`,
    `other_lang`, `toggle` (the other language's link), `csrf` (the hidden field's value) and
    `context`. A language asked for with `?lang=` is remembered."""
    session = session_of(request)
    lang = page_language(request, user_language or (session.user.language if session else None))
    other: Language = "en" if lang == "ne" else "ne"
    w: dict[str, Any] = dict(BASE[lang])
    if words is not None:
        w.update(words[lang])
    html = _ENVS[lang].get_template(template).render(
        lang=lang, other_lang=other, toggle=with_lang(request, other), w=w,
        csrf=csrf_token(request), session=session, **context)
    response = web.Response(text=html, status=status, content_type="text/html",
                            charset="utf-8", headers={
                                "Content-Security-Policy": policy, "Content-Language": lang,
                                "Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"})
    if _pick(request.query.get("lang")) is not None:
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_DAYS * 86400, path="/",
                            httponly=True, samesite="Lax", secure=secure_cookies(request))
    set_new_csrf_cookie(request, response)
    return response
