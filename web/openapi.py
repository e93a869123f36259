"""The OpenAPI 3.1 document, written from the same endpoint table the server routes by."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from web.endpoint import PATH_PARAMETERS, Auth, Endpoint, is_list_annotation

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "rule", "message"],
            "properties": {
                "code": {"type": "string"},
                "rule": {"type": "string"},
                "message": {
                    "type": "object",
                    "required": ["vi", "en"],
                    "properties": {"vi": {"type": "string"}, "en": {"type": "string"}},
                },
                "problems": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}

ERROR_TEXT = {
    400: "Bad request",
    401: "Missing, forged, expired or revoked token",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "Not possible in the current state",
    405: "Method not allowed (the Allow header names those that are)",
    413: "Request body too large",
    415: "The body is not sent as application/json",
    422: "Invalid input or refused by a jurisdiction rule",
}


def build_openapi(endpoints: Sequence[Endpoint], version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = set()
    for e in endpoints:
        models.update(m for m in (e.body, e.query) if m is not None)
        models.update(_models_in(e.response))
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hearing server API",
            "version": version,
            "description": "Online court hearings and court video meetings.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "staff": {"type": "http", "scheme": "bearer", "description": "Staff login token"},
                "join": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A participant's personal join token",
                },
            },
        },
    }


def _operation(e: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": e.operation_id, "summary": e.summary, "tags": [e.tag]}
    path_schema = PATH_PARAMETERS.json_schema()["additionalProperties"]
    params = [
        {"name": name, "in": "path", "required": True, "schema": path_schema}
        for name in re.findall(r"{(\w+)}", e.path)
    ]
    if e.query is not None:
        query_schema = e.query.model_json_schema(ref_template="#/components/schemas/{model}")
        required = set(query_schema.get("required", []))
        fields = e.query.model_fields
        for name, schema in query_schema["properties"].items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": schema,
            }
            if is_list_annotation(fields[name].annotation):
                param.update(style="form", explode=True)
            params.append(param)
    if params:
        op["parameters"] = params
    if e.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(e.body)}},
        }
    if e.auth is not Auth.PUBLIC:
        op["security"] = [{e.auth.value: []}]
    responses: dict[str, Any] = {}
    if e.media is not None:
        binary = {e.media: {"schema": {"type": "string", "format": "binary"}}}
        responses[str(e.status)] = {"description": "The file", "content": binary}
        responses["206"] = {"description": "The part a Range header asked for", "content": binary}
    elif e.response is None:
        responses[str(e.status)] = {"description": "Done"}
    else:
        schema = TypeAdapter(e.response).json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        responses[str(e.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
    codes = set(e.error_statuses)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    op["responses"] = responses
    return op


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _models_in(annotation: Any) -> set[type[BaseModel]]:
    if annotation is None:
        return set()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {annotation}
    found: set[type[BaseModel]] = set()
    for arg in getattr(annotation, "__args__", ()):
        found |= _models_in(arg)
    return found
