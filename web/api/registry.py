"""The REST API's registry: each endpoint declared once, with everything the server and the
OpenAPI document need (method, path, pydantic models of the path, query, body and response,
summary, roles, whether it takes an Idempotency-Key).

For every request the registry authenticates (bearer token; `roles=None` is public), applies
the per-token rate limit, validates the path, query and JSON body with the declared models,
opens a connection and a transaction, calls the handler with a `Call`, serialises the response
model and commits. A handler does what a dialog does: it calls ledger services with
`call.user` as the actor on `call.conn`, and queues what people must be told with
`await call.send(replies)` (the outbound service, in the same transaction).

With `reads_replica=True` (GETs only: the dashboard and the analytics series) the handler runs
on the read pool in a read-only snapshot (`web.reads`): the replica of READ_DATABASE_URL when it
is set, so its answer may be a few seconds behind; never for what a client reads right after its
own write (an order after accepting it stays on the primary).

With `idempotent=True` a request may carry `Idempotency-Key`: its first outcome (also a refusal
by the ledger) is kept with the writes it reports, a retry with the same key and request gets it
again (`Idempotent-Replayed: true`), the same key with another request gets 409.

Why not a library: aiohttp-pydantic, aiohttp-apispec and aiohttp-swagger either target OpenAPI
3.0, marshmallow or pydantic v1, or want class-based views; none knows roles, idempotency keys
or ledger errors. This is small, and pydantic writes the JSON Schema (2020-12, as 3.1 takes it).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.appkeys import OUTBOUND, POOL, SETTINGS
from bot.outbound import Outbound
from bot.security import BodyTimeout, read_body
from bot.settings import Settings
from ledger import auth, idempotency
from ledger.errors import LedgerError
from ledger.users import ROLES, Role, User
from locales.replies import Reply
from web.api import ratelimit
from web.api.errors import ApiError, ledger_error, validation_error
from web.auth import api_session
from web.reads import reading
from web.session import client_address

PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
ALL_ROLES: tuple[Role, ...] = ROLES
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass
class Call:
    """One request to an endpoint: the validated inputs, who is asking, and a connection in a
    transaction. `body`, `query` and `path` are instances of the endpoint's models (None when it
    declares none); annotate them where used: `body: TokenRequest = call.body`."""

    request: web.Request
    conn: asyncpg.Connection
    user: User | None
    body: Any
    query: Any
    path: Any
    session: auth.Session | None = None  # the bearer token's session (None: public)

    @property
    def token_id(self) -> int | None:
        return self.session.id if self.session is not None else None

    @property
    def settings(self) -> Settings:
        return self.request.app[SETTINGS]

    @property
    def outbound(self) -> Outbound:
        return self.request.app[OUTBOUND]

    @property
    def actor(self) -> User:
        """The signed-in user (endpoints with roles always have one)."""
        assert self.user is not None, "a public endpoint has no actor"
        return self.user

    async def send(self, replies: list[Reply]) -> None:
        """Queue messages to people in this request's transaction (sent when it commits)."""
        await self.outbound.send(self.conn, replies)


Handler = Callable[[Call], Awaitable[BaseModel | None]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under /api/v1, aiohttp syntax: "/orders/{number}"
    handler: Handler
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None
    roles: tuple[Role, ...] | None = ALL_ROLES  # None: public, no token needed
    idempotent: bool = False
    tag: str = "misc"
    description: str = ""
    errors: tuple[int, ...] = ()  # statuses worth documenting beyond the usual ones
    reads_replica: bool = False  # a read-only snapshot on the read pool (see the module's doc)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def full_path(self) -> str:
        return PREFIX + self.path


@dataclass
class Registry:
    endpoints: list[Endpoint] = field(default_factory=list)

    def endpoint(
        self, method: str, path: str, *, summary: str, response: type[BaseModel] | None,
        status: int = 200, body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None, path_params: type[BaseModel] | None = None,
        roles: tuple[Role, ...] | None = ALL_ROLES, idempotent: bool = False, tag: str = "misc",
        errors: tuple[int, ...] = (), reads_replica: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare an endpoint: `@API.endpoint("POST", "/orders/{number}/accept", ...)`."""
        method = method.upper()
        if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ValueError(f"method {method}")
        if idempotent and method == "GET":
            raise ValueError("a GET is idempotent already")
        if reads_replica and method != "GET":
            raise ValueError("only a GET may read the replica: a write must go to the primary")

        def register(handler: Handler) -> Handler:
            for known in self.endpoints:
                if (known.method, known.path) == (method, path):
                    raise ValueError(f"{method} {path} declared twice")
                if known.handler.__name__ == handler.__name__:
                    raise ValueError(f"operation id {handler.__name__} used twice")
            self.endpoints.append(Endpoint(
                method, path, handler, summary, response, status, body, query, path_params,
                roles, idempotent, tag, inspect.cleandoc(handler.__doc__ or ""), errors,
                reads_replica))
            return handler

        return register

    def mount(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.full_path, _serve(endpoint),
                                 name=f"api.{endpoint.operation_id}")


API = Registry()


def _models(model: type[BaseModel] | None, data: Any, where: str) -> Any:
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, where) from None


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not a JSON number")


def _depth(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


async def _json_body(request: web.Request, settings: Settings) -> tuple[Any, bytes]:
    """The parsed body and its canonical bytes (what an idempotency key is checked against)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "too_large")
    if request.body_exists and request.content_type not in ("application/json", ""):
        raise ApiError(415, "unsupported_media_type")
    try:
        raw = await read_body(request, settings.http_body_timeout_seconds)
    except BodyTimeout:
        raise ApiError(408, "too_slow") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise ApiError(400, "bad_json") from None
    if not _depth(data, MAX_JSON_DEPTH):
        raise ApiError(400, "bad_json")
    return data, json.dumps(data, sort_keys=True, ensure_ascii=False).encode()


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= idempotency.MAX_KEY or not all(33 <= ord(c) < 127 for c in key):
        raise ApiError(400, "bad_idempotency_key")
    return key


def _dump(endpoint: Endpoint, result: BaseModel | None) -> bytes:
    if endpoint.response is None or result is None:
        return b""
    if not isinstance(result, endpoint.response):
        raise TypeError(f"{endpoint.operation_id} returned {type(result).__name__}, "
                        f"declared {endpoint.response.__name__}")
    return result.model_dump_json().encode()


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    if not body:
        return web.Response(status=status, headers=headers)
    return web.Response(body=body, status=status, content_type="application/json",
                        headers=headers)


def _serve(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        settings = request.app[SETTINGS]
        user, session = None, None
        if endpoint.roles is not None:
            session = await api_session(request)
            user = session.user
            ratelimit.check(request.app, f"token:{session.id}")
            if user.role not in endpoint.roles:
                raise ApiError(403, "forbidden")
        else:
            ratelimit.check(request.app, f"address:{client_address(request)}")
        path = _models(endpoint.path_params, dict(request.match_info), "path")
        query = _models(endpoint.query, dict(request.query), "query")
        body, canonical = None, b""
        if endpoint.body is not None:
            data, canonical = await _json_body(request, settings)
            body = _models(endpoint.body, data, "body")
        key = _idempotency_key(request) if endpoint.idempotent else None
        if endpoint.reads_replica:
            async with reading(request.app) as conn:
                result = await endpoint.handler(Call(request, conn, user, body, query, path,
                                                     session))
            return _response(endpoint.status, _dump(endpoint, result))
        async with request.app[POOL].acquire() as conn:
            call = Call(request, conn, user, body, query, path, session)
            if key is None or user is None:
                async with conn.transaction():
                    result = await endpoint.handler(call)
                return _response(endpoint.status, _dump(endpoint, result))
            fingerprint = hashlib.sha256(
                f"{request.method} {request.path}?{request.query_string}\n".encode()
                + canonical).digest()
            async with conn.transaction():
                claimed = await idempotency.claim(conn, user.id, key, fingerprint)
                if isinstance(claimed, idempotency.Kept):
                    return _response(claimed.status, claimed.body,
                                     {"Idempotent-Replayed": "true"})
                try:
                    async with conn.transaction():  # a refusal undoes only the handler's writes
                        result = await endpoint.handler(call)
                    status, out = endpoint.status, _dump(endpoint, result)
                    headers: dict[str, str] = {}
                except LedgerError as exc:
                    status, out, headers = ledger_error(request, exc)
                await idempotency.record(conn, claimed, status, out)
            return _response(status, out, headers)

    handle.__name__ = endpoint.operation_id
    return handle
