"""A client for the Graph API's send and media upload endpoints, with an error class per error
code that matters."""

from __future__ import annotations

from typing import Any

import aiohttp


class GraphError(Exception):
    """Any failed send; `retryable` says whether trying again later can help."""

    retryable = True

    def __init__(self, code: int | None, message: str, http_status: int) -> None:
        super().__init__(f"Graph API error {code} (HTTP {http_status}): {message}")
        self.code = code
        self.http_status = http_status


class ThrottledError(GraphError):
    """130429 and friends: our number sends too fast overall; all sending slows down."""


class PairRateLimitError(GraphError):
    """131056: too many messages to this one recipient (Meta allows about one every 6 seconds,
    with short bursts); only that recipient's messages wait."""


class AmbiguousSendError(GraphError):
    """No usable answer (a timeout, a dropped connection, an unreadable reply): Meta may have
    accepted the message, so it must not simply be sent again (see bot/sender.py)."""


class OutsideWindowError(GraphError):
    """131047: more than 24 hours since the user wrote; only a template message may go."""

    retryable = False


class UndeliverableError(GraphError):
    """131026: the number cannot receive the message; operators must look."""

    retryable = False


class AuthError(GraphError):
    """190: the access token expired or is wrong; retried, as an operator may rotate it."""


class InvalidRequestError(GraphError):
    """A 4xx that sending the same body again will not fix."""

    retryable = False


OUTSIDE_WINDOW = 131047
PAIR_RATE_LIMIT = 131056
_THROTTLED = {4, 80007, 130429, 131048}
_BY_CODE: dict[int, type[GraphError]] = {
    OUTSIDE_WINDOW: OutsideWindowError,
    131026: UndeliverableError,
    190: AuthError,
}


MAX_CALLBACK_DATA = 512  # Meta's limit on biz_opaque_callback_data


def error_from(http_status: int, body: Any) -> GraphError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = str(error.get("message") or f"HTTP {http_status}")
    if code == PAIR_RATE_LIMIT:
        return PairRateLimitError(code, message, http_status)
    if code is None and http_status >= 500:
        # No Graph error in the body: a proxy or a crash answered, not the API deciding.
        return AmbiguousSendError(code, message, http_status)
    if code in _THROTTLED or http_status == 429:
        return ThrottledError(code, message, http_status)
    if code in _BY_CODE:
        return _BY_CODE[code](code, message, http_status)
    if 400 <= http_status < 500 and http_status not in (408, 409):
        return InvalidRequestError(code, message, http_status)
    return GraphError(code, message, http_status)


def addressed(recipient: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A phone-based wa_id goes in `to`; a business-scoped user id (CC.xxxx) in `recipient`."""
    field = "to" if recipient.isdigit() else "recipient"
    return {"messaging_product": "whatsapp", field: recipient, **payload}


class GraphClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_base: str,
        phone_number_id: str,
        access_token: str,
        timeout_seconds: float = 15,
    ) -> None:
        self._session = session
        self._url = f"{api_base.rstrip('/')}/{phone_number_id}/messages"
        self._media_url = f"{api_base.rstrip('/')}/{phone_number_id}/media"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def send(
        self, recipient: str, payload: dict[str, Any], reference: str | None = None
    ) -> str:
        """Send one message; return its wamid or raise a GraphError.

        `reference` goes in `biz_opaque_callback_data`, which Meta echoes in status webhooks.
        """
        message = addressed(recipient, payload)
        if reference is not None:
            message["biz_opaque_callback_data"] = reference[:MAX_CALLBACK_DATA]
        try:
            async with self._session.post(
                self._url, json=message, headers=self._headers, timeout=self._timeout,
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    body = None
                if response.status != 200:
                    raise error_from(response.status, body)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Never connected: the request did not reach Meta, sending again is safe.
            raise GraphError(None, f"network: {exc!r}", 0) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AmbiguousSendError(None, f"no answer: {exc!r}", 0) from exc
        try:
            return str(body["messages"][0]["id"])
        except (TypeError, KeyError, IndexError) as exc:
            raise AmbiguousSendError(None, f"unexpected answer: {body!r:.200}", 200) from exc

    async def upload(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a document (POST /{phone-number-id}/media, multipart: the file, its type and
        messaging_product); return its media id, which a document message names. WhatsApp
        keeps it for 30 days."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", content, filename=filename, content_type=mime_type)
        try:
            async with self._session.post(
                self._media_url, data=form, headers=self._headers, timeout=self._timeout,
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    body = None
                if response.status != 200:
                    raise error_from(response.status, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GraphError(None, f"network: {exc!r}", 0) from exc
        if not isinstance(body, dict) or not isinstance(body.get("id"), str | int):
            raise GraphError(None, f"unexpected answer to an upload: {body!r:.200}", 200)
        return str(body["id"])
