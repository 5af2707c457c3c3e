"""The OpenAPI 3.1 document of the registry, at /api/v1/openapi.json, and a readable page of it
at /api/v1/docs (rendered here, from the same document: no script, no CDN).

Schemas come from the same pydantic models that validate requests (`models_json_schema`, refs
as `#/components/schemas/{model}`); OpenAPI 3.1 takes JSON Schema 2020-12 as it is.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from web import render
from web.api.errors import ErrorBody
from web.api.registry import IDEMPOTENCY_HEADER, PREFIX, Endpoint, Registry

REF = "#/components/schemas/{model}"
VERSION = "1.0.0"

_COMMON_ERRORS = {
    400: "Malformed JSON, or a bad header",
    401: "No live bearer token (or a sign-in code that is wrong or expired)",
    403: "The caller's role may not do this",
    404: "Not found (or not the caller's to see)",
    409: "The state of things does not allow it (already done, an illegal step, the same "
         "Idempotency-Key with another request)",
    422: "The request is not valid (fields named in `error.fields`), or the ledger's rules "
         "refuse it",
    408: "The body arrived too slowly",
    413: "The body is larger than 64 KiB",
    415: "The body is not JSON (Content-Type: application/json)",
    429: "Too many requests: wait the seconds in Retry-After",
    500: "Something went wrong on the server (logged)",
}


def _parameters(schema: dict[str, Any], where: str) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        item = {"name": name, "in": where, "required": where == "path" or name in required,
                "schema": {k: v for k, v in prop.items() if k != "title"}}
        if "description" in prop:
            item["description"] = prop["description"]
        params.append(item)
    return params


def document(registry: Registry) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorBody, "serialization")]
    for ep in registry.endpoints:
        for model in (ep.body, ep.query, ep.path_params):
            if model is not None:
                wanted.append((model, "validation"))
        if ep.response is not None:
            wanted.append((ep.response, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, defs = models_json_schema(unique, ref_template=REF)
    components: dict[str, Any] = dict(defs.get("$defs", {}))

    def schema_of(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return refs[(model, mode)]

    def resolved(model: type[BaseModel]) -> dict[str, Any]:
        ref = schema_of(model, "validation")["$ref"]
        found: dict[str, Any] = components[ref.rsplit("/", 1)[-1]]
        return found

    paths: dict[str, dict[str, Any]] = {}
    for ep in registry.endpoints:
        operation: dict[str, Any] = {
            "operationId": ep.operation_id, "summary": ep.summary, "tags": [ep.tag],
            "x-roles": list(ep.roles) if ep.roles is not None else [],
        }
        if ep.description:
            operation["description"] = ep.description
        if ep.reads_replica:
            # Clients should know an answer may lag their own write by a few seconds.
            operation["x-reads-replica"] = True
            operation["description"] = (operation.get("description", "") + "\n\nRead from "
                                        "the read replica when the server has one: it may be "
                                        "a few seconds behind a write just made.").lstrip()
        params: list[dict[str, Any]] = []
        if ep.path_params is not None:
            params += _parameters(resolved(ep.path_params), "path")
        if ep.query is not None:
            params += _parameters(resolved(ep.query), "query")
        if ep.idempotent:
            params.append({
                "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                "description": "Retry-safe: a retry with the same key and request returns the "
                               "first outcome; the same key with another request is 409.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
        if params:
            operation["parameters"] = params
        if ep.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": schema_of(ep.body, "validation")}}}
        ok: dict[str, Any] = {"description": ep.summary}
        if ep.response is not None:
            ok["content"] = {"application/json": {
                "schema": schema_of(ep.response, "serialization")}}
        responses: dict[str, Any] = {str(ep.status): ok}
        codes = {400, 429, 500}
        if ep.body is not None or ep.query is not None or ep.path_params is not None:
            codes.add(422)
        if ep.body is not None:
            codes |= {408, 413, 415}
        if ep.roles is not None:
            codes |= {401, 403}
        if ep.idempotent:
            codes.add(409)
        codes |= set(ep.errors)
        error_ref = schema_of(ErrorBody, "serialization")
        for code in sorted(codes):
            responses[str(code)] = {"description": _COMMON_ERRORS.get(code, "Refused"),
                                    "content": {"application/json": {"schema": error_ref}}}
        operation["responses"] = responses
        if ep.roles is not None:
            operation["security"] = [{"bearer": []}]
        else:
            operation["security"] = []
        paths.setdefault(ep.full_path, {})[ep.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Khaacho API", "version": VERSION,
            "description": "Orders, stock, payments and credit for shops in Nepal: the same "
                           "services as the WhatsApp chat. Sign in with a code sent on "
                           "WhatsApp (POST /api/v1/auth/code, then /api/v1/auth/token) and "
                           "send `Authorization: Bearer <token>`. Money is integer paisa. "
                           "Errors are `{\"error\": {\"code\", \"message\"}}`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def routes(app: web.Application, registry: Registry) -> None:
    cached: dict[str, Any] = {}

    def doc() -> dict[str, Any]:
        if "doc" not in cached:  # the registry is complete once the app serves
            cached["doc"] = document(registry)
            cached["json"] = json.dumps(cached["doc"], ensure_ascii=False, indent=1).encode()
        return cached["doc"]  # type: ignore[no-any-return]

    async def openapi_json(request: web.Request) -> web.Response:
        """The OpenAPI 3.1 document."""
        doc()
        return web.Response(body=cached["json"], content_type="application/json",
                            headers={"Cache-Control": "public, max-age=60"})

    async def docs(request: web.Request) -> web.Response:
        """The document as a page people read."""
        spec = doc()
        operations = []
        for path, methods in spec["paths"].items():
            for method, op in methods.items():
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                operations.append({
                    "method": method.upper(), "path": path, "op": op,
                    "body": _name(body.get("schema")),
                    "responses": [(code, r["description"], _name(
                        r.get("content", {}).get("application/json", {}).get("schema")))
                        for code, r in op["responses"].items()],
                })
        schemas = [(name, json.dumps(schema, indent=2, ensure_ascii=False))
                   for name, schema in spec["components"]["schemas"].items()]
        return render.render(request, "api_docs.html", None, spec=spec, operations=operations,
                             schemas=schemas)

    app.router.add_get(PREFIX + "/openapi.json", openapi_json)
    app.router.add_get(PREFIX + "/docs", docs)


def _name(schema: dict[str, Any] | None) -> str | None:
    if not schema or "$ref" not in schema:
        return None
    return str(schema["$ref"]).rsplit("/", 1)[-1]


__all__ = ["Endpoint", "document", "routes"]
