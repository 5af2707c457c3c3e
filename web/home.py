"""/app: the signed-in person's home, per role: who they are, and links to the pages their role
has (a page appears in `LINKS` once it is mounted, so nobody is offered a dead link)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.appkeys import POOL
from ledger import users
from ledger.users import Role, User
from locales import Language
from web import render
from web.auth import signed_in

# (path, words key) per role, in the order shown. Helpers adding a dashboard add its line here
# and its words below; a path not served (yet) is not shown.
LINKS: dict[Role, list[tuple[str, str]]] = {
    "ADMIN": [("/app/today", "today"), ("/app/users", "users"),
              ("/app/messages/failed", "failed_messages"), ("/app/analytics", "analytics")],
    "OPERATOR": [("/app/today", "today"), ("/app/users", "users"),
                 ("/app/messages/failed", "failed_messages"), ("/app/analytics", "analytics")],
    "VENDOR": [("/app/orders", "orders"), ("/app/stock", "stock"),
               ("/app/receivables", "receivables"), ("/app/payments/new", "record_payment"),
               ("/app/statement", "statement"), ("/app/analytics", "analytics")],
    "RETAILER": [("/app/orders", "orders"), ("/app/dues", "dues"),
                 ("/app/statement", "statement"), ("/app/score", "score"),
                 ("/app/analytics", "analytics")],
}

WORDS: dict[Language, dict[str, Any]] = {
    "en": {
        "title": "Khaacho",
        "welcome": "Namaste, {name}",
        "role": "Role",
        "phone": "Phone",
        "shop": "Shop",
        "roles": {"ADMIN": "Admin", "OPERATOR": "Operator", "VENDOR": "Wholesaler",
                  "RETAILER": "Shop"},
        "pages": "Your pages",
        "none_yet": "Your pages are coming soon. Meanwhile everything works in WhatsApp.",
        "today": "Today", "users": "Users", "failed_messages": "Failed messages",
        "analytics": "Analytics", "orders": "Orders", "stock": "Stock and prices",
        "receivables": "Receivables", "record_payment": "Record a payment", "dues": "Dues",
        "statement": "Statement", "score": "Credit score",
        "everywhere_hint": "Signs out every browser and every API token of yours.",
    },
    "ne": {
        "title": "खाचो",
        "welcome": "नमस्ते, {name}",
        "role": "भूमिका",
        "phone": "फोन",
        "shop": "पसल",
        "roles": {"ADMIN": "प्रशासक", "OPERATOR": "सञ्चालक", "VENDOR": "थोक बिक्रेता",
                  "RETAILER": "पसल"},
        "pages": "तपाईंका पृष्ठ",
        "none_yet": "तपाईंका पृष्ठ छिट्टै आउँदैछन्। त्यतिन्जेल सबै काम WhatsApp मै हुन्छ।",
        "today": "आज", "users": "प्रयोगकर्ता", "failed_messages": "नपुगेका सन्देश",
        "analytics": "विश्लेषण", "orders": "अर्डर", "stock": "मौज्दात र मूल्य",
        "receivables": "उठाउन बाँकी", "record_payment": "भुक्तानी चढाउनुहोस्", "dues": "बाँकी",
        "statement": "विवरण", "score": "क्रेडिट स्कोर",
        "everywhere_hint": "तपाईंका सबै ब्राउजर र API token बाट साइन आउट गर्छ।",
    },
}


def routes(app: web.Application) -> None:
    app.router.add_get("/app", home)


def served_paths(app: web.Application) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


@signed_in()
async def home(request: web.Request, user: User) -> web.StreamResponse:
    """Who is signed in, their role, their pages and the sign-out buttons."""
    async with request.app[POOL].acquire() as conn:
        shop = await users.shop(conn, user.id)
    served = served_paths(request.app)
    links = [(path, key) for path, key in LINKS[user.role] if path in served]
    return render.render(request, "home.html", WORDS, user=user, links=links,
                         shop=shop.shop_name if shop else None)
