"""API endpoints for signing in and out, and `me`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from ledger import auth, users
from ledger.users import Role
from locales import Language
from locales.numbers import PhoneError, normalize_phone
from web.api.errors import api_language
from web.api.registry import API, Call
from web.auth import send_code, sign_in


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except PhoneError as exc:
        raise ValueError(str(exc)) from None


Phone = Annotated[str, Field(min_length=1, max_length=32, examples=["+9779820000001"]),
                  AfterValidator(_phone)]


class CodeRequest(BaseModel):
    phone: Phone


class CodeSent(BaseModel):
    """The same answer whether or not the number is registered."""

    message: str
    expires_in_seconds: int


class TokenRequest(BaseModel):
    phone: Phone
    code: str = Field(min_length=1, max_length=12, examples=["402913"])
    name: str = Field(default="", max_length=120, description="what the token is for")


class TokenIssued(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown only once")
    expires_at: datetime
    role: Role


class Revoked(BaseModel):
    revoked: int = Field(description="how many sessions and tokens were signed out")


class TokenSeen(BaseModel):
    kind: auth.Kind
    name: str
    expires_at: datetime


class Me(BaseModel):
    id: int
    phone: str | None
    name: str
    role: Role
    language: Language
    shop_name: str | None
    token: TokenSeen


SENT = {"en": "If this number is registered, a code was sent to it on WhatsApp.",
        "ne": "यो नम्बर दर्ता छ भने, यसमा WhatsApp मार्फत कोड पठाइयो।"}


@API.endpoint("POST", "/auth/code", summary="Send a sign-in code on WhatsApp", body=CodeRequest,
              response=CodeSent, status=202, roles=None, tag="auth")
async def auth_code(call: Call) -> CodeSent:
    """A six-digit code goes to the number on WhatsApp, valid a few minutes. The answer is the
    same for a number that is not registered (no code is sent), so it says nothing about who
    is a member. Limited per phone and per client address (429 with Retry-After)."""
    body: CodeRequest = call.body
    await send_code(call.request, call.conn, body.phone)
    return CodeSent(message=SENT[api_language(call.request)],
                    expires_in_seconds=call.settings.signin_code_minutes * 60)


@API.endpoint("POST", "/auth/token", summary="Trade a sign-in code for a bearer token",
              body=TokenRequest, response=TokenIssued, roles=None, tag="auth", errors=(401,))
async def auth_token(call: Call) -> TokenIssued:
    """A wrong or expired code is 401 (`auth.code_rejected`); a code takes a few tries."""
    body: TokenRequest = call.body
    user, issued = await sign_in(call.request, call.conn, body.phone, body.code, "api",
                                 name=body.name)
    return TokenIssued(token=issued.token, expires_at=issued.expires_at, role=user.role)


@API.endpoint("POST", "/auth/revoke", summary="Sign this token out", response=Revoked,
              tag="auth")
async def auth_revoke(call: Call) -> Revoked:
    assert call.token_id is not None
    done = await auth.revoke(call.conn, call.actor, call.token_id)
    return Revoked(revoked=int(done))


@API.endpoint("POST", "/auth/revoke-all", summary="Sign out everywhere", response=Revoked,
              tag="auth")
async def auth_revoke_all(call: Call) -> Revoked:
    """Every session and token of the caller: web sessions, API and integration tokens."""
    return Revoked(revoked=await auth.revoke_all(call.conn, call.actor, call.actor.id))


@API.endpoint("GET", "/me", summary="Who this token signs in as", response=Me, tag="me")
async def me(call: Call) -> Me:
    user = call.actor
    shop = await users.shop(call.conn, user.id)
    session = call.session
    assert session is not None
    return Me(id=user.id, phone=user.phone, name=user.name, role=user.role,
              language=user.language, shop_name=shop.shop_name if shop else None,
              token=TokenSeen(kind=session.kind, name=session.name,
                              expires_at=session.expires_at))
