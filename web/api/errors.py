"""Every API failure as JSON `{"error": {"code", "message"}}` with the right status.

`STATUS` is the one table from ledger errors to HTTP statuses (a test checks every
`LedgerError` subclass is in it). The middleware turns ledger errors, the web layer's own
`ApiError`s, aiohttp's HTTP errors (404, 405, 413) and anything unexpected (a JSON 500, logged)
into that shape for every path under /api/. Messages are English, or Nepali for
`Accept-Language: ne`; ledger errors are worded by `locales/*/messages/error.j2`, as in chat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.appkeys import MESSAGES
from ledger import errors as e
from locales import Language
from web.render import browser_language

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

STATUS: Mapping[type[e.LedgerError], int] = {
    # Not allowed: the services said no.
    e.NotPermitted: 403,
    # Not there (or not the caller's to see: existence must not leak).
    e.OrderNotFound: 404,
    e.NotYourOrder: 404,
    e.UnknownProduct: 404,
    e.UnknownRetailer: 404,
    e.UnknownUser: 404,
    e.ClaimNotFound: 404,
    e.PaymentNotFound: 404,
    e.BankReportNotFound: 404,
    e.SuggestionNotFound: 404,
    # The state of things does not allow it now.
    e.IllegalTransition: 409,
    e.AlreadyDone: 409,
    e.IdempotencyConflict: 409,
    e.AlreadyReversed: 409,
    e.OrderHasPayments: 409,
    e.OrderNotEditable: 409,
    e.OrderNotPaid: 409,
    e.RoleConflict: 409,
    e.RoleChangeBlocked: 409,
    e.RegistrationIncomplete: 409,
    e.RetailerBlocked: 409,
    e.NotDelivered: 409,
    e.DisputeTooLate: 409,
    e.TooManyClaims: 409,
    e.StockBelowReserved: 409,
    e.NoVendorCanFill: 409,
    e.TooManyBankReports: 409,
    e.LimitChangedSince: 409,
    # Understood, but the rules of the ledger refuse it as asked.
    e.EmptyOrder: 422,
    e.InvalidQuantity: 422,
    e.OverCreditLimit: 422,
    e.StockInsufficient: 422,
    e.NotCarried: 422,
    e.NotReversible: 422,
    e.PaymentExceedsBalance: 422,
    e.InvalidAmount: 422,
    e.ReasonRequired: 422,
    e.InvalidInstitution: 422,
    e.InvalidAnalyticsQuery: 422,
    e.CodeRejected: 401,
    e.RateLimited: 429,
    e.LedgerError: 422,
}

# The web layer's own failures, in both languages.
WORDS: dict[Language, dict[str, str]] = {
    "en": {
        "bad_json": "The request body is not valid JSON.",
        "validation": "Some fields are not valid",
        "unauthorized": "Sign in first: send a bearer token (Authorization: Bearer …).",
        "forbidden": "Your role may not do this.",
        "not_found": "There is nothing at this address.",
        "method_not_allowed": "This address does not take that method.",
        "too_large": "The request body is too large.",
        "too_slow": "The request body arrived too slowly.",
        "unsupported_media_type": "Send the body as JSON (Content-Type: application/json).",
        "bad_idempotency_key": "An Idempotency-Key is 1 to 200 visible ASCII characters.",
        "rate_limited": "Too many requests. Please try again in {seconds} seconds.",
        "internal": "Something went wrong on our side; it has been logged.",
        "http": "The request was refused.",
        "bad_cursor": "This cursor was not given by this API; start again without one.",
    },
    "ne": {
        "bad_json": "अनुरोधको मुख्य भाग मान्य JSON होइन।",
        "validation": "केही फिल्ड मान्य छैनन्",
        "unauthorized": "पहिले साइन इन गर्नुहोस्: bearer token पठाउनुहोस् (Authorization: Bearer …)।",
        "forbidden": "तपाईंको भूमिकाले यो गर्न मिल्दैन।",
        "not_found": "यो ठेगानामा केही छैन।",
        "method_not_allowed": "यो ठेगानाले त्यो तरिका लिँदैन।",
        "too_large": "अनुरोधको मुख्य भाग धेरै ठूलो छ।",
        "too_slow": "अनुरोधको मुख्य भाग धेरै ढिलो आयो।",
        "unsupported_media_type": "मुख्य भाग JSON मा पठाउनुहोस् (Content-Type: application/json)।",
        "bad_idempotency_key": "Idempotency-Key १ देखि २०० देखिने ASCII अक्षरको हुन्छ।",
        "rate_limited": "धेरै अनुरोध भयो। कृपया {seconds} सेकेन्डपछि फेरि प्रयास गर्नुहोस्।",
        "internal": "हाम्रो तर्फबाट केही बिग्रियो; यो लेखिएको छ।",
        "http": "अनुरोध अस्वीकार भयो।",
        "bad_cursor": "यो cursor यही API ले दिएको होइन; cursor बिना फेरि सुरु गर्नुहोस्।",
    },
}

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 408: "too_slow", 413: "too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    """Every failure: a code to act on, a message to show."""

    error: ErrorDetail


class ApiError(Exception):
    """A failure of the web layer itself: raised by handlers and helpers, answered as JSON."""

    def __init__(self, status: int, code: str, message: str | None = None, *,
                 headers: Mapping[str, str] | None = None,
                 fields: list[dict[str, str]] | None = None, **params: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.fields = fields
        self.params = params


def api_language(request: web.Request) -> Language:
    return browser_language(request) or "en"


def status_of(exc: e.LedgerError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 422


def payload(code: str, message: str, fields: list[dict[str, str]] | None = None) -> bytes:
    detail: dict[str, Any] = {"code": code, "message": message}
    if fields:
        detail["fields"] = fields
    return json.dumps({"error": detail}, ensure_ascii=False).encode()


def ledger_error(request: web.Request, exc: e.LedgerError) -> tuple[int, bytes, dict[str, str]]:
    """The status, body and headers a ledger error is answered with."""
    lang = api_language(request)
    message = request.app[MESSAGES].render(lang, "error", key=exc.key, params=exc.params)
    headers = {}
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    # Someone else's order reads exactly like a missing one, code included.
    code = e.OrderNotFound.key if isinstance(exc, e.NotYourOrder) else exc.key
    return status_of(exc), payload(code, " ".join(message.split())), headers


def api_error(request: web.Request, exc: ApiError) -> web.Response:
    lang = api_language(request)
    text = exc.message or WORDS[lang].get(exc.code, WORDS[lang]["http"]).format(**exc.params)
    return web.Response(body=payload(exc.code, text, exc.fields), status=exc.status,
                        content_type="application/json", headers=exc.headers)


def validation_error(exc: ValidationError, where: str) -> ApiError:
    """422 naming each field that is wrong (the first 20), e.g. `body.phone: Field required`."""
    fields = []
    for item in exc.errors(include_url=False)[:20]:
        path = ".".join(str(part) for part in (where, *item["loc"]))
        fields.append({"field": path, "problem": str(item["msg"])[:200]})
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:5])
    return ApiError(422, "validation", None, fields=fields, summary=summary)


def _respond(request: web.Request, exc: ApiError) -> web.Response:
    if exc.code == "validation" and exc.message is None:
        lang = api_language(request)
        exc.message = f"{WORDS[lang]['validation']}: {exc.params.get('summary', '')}"
    return api_error(request, exc)


@web.middleware
async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """JSON errors for everything under /api/; other paths pass through untouched."""
    if not request.path.startswith(API_PREFIX):
        response: web.StreamResponse = await handler(request)
        return response
    try:
        response = await handler(request)
        return response
    except ApiError as exc:
        return _respond(request, exc)
    except e.LedgerError as exc:
        status, body, headers = ledger_error(request, exc)
        return web.Response(body=body, status=status, content_type="application/json",
                            headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http")
        return _respond(request, ApiError(exc.status, code, headers={
            k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}))
    except Exception:  # noqa: BLE001 - answered as JSON, logged with its traceback
        log.exception("API %s %s failed", request.method, request.path)
        return _respond(request, ApiError(500, "internal"))
