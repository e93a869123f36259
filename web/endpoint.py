"""One table of endpoints: each declares its models and who may call it. The same table
registers the routes, validates requests and writes the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, get_args, get_origin

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from hearing_server.services import AuthenticationFailed, JoinContext
from rooms.accounts import StaffUser
from rooms.participants import Actor
from rooms.text import Text
from web.errors import error_response, validation_error_response
from web.keys import SERVICE
from web.schemas import Identifier

MAX_BODY_BYTES = 256 * 1024
JSON = "application/json"

PATH_PARAMETERS: TypeAdapter[dict[str, str]] = TypeAdapter(dict[str, Identifier])
"""Every id in a path is read like an id in a body, so a NUL never reaches a query."""


class Auth(StrEnum):
    PUBLIC = "public"
    STAFF = "staff"
    """A staff bearer token."""
    JOIN = "join"
    """A participant's join token, as a bearer token."""


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: validated input and the authenticated caller."""

    request: web.Request
    body: Any
    query: Any
    actor: Actor | None = None
    user: StaffUser | None = None
    join: JoinContext | None = None

    def path(self, name: str) -> str:
        """A path parameter, already checked by ``PATH_PARAMETERS``."""
        return self.request.match_info[name]

    @property
    def staff(self) -> Actor:
        assert self.actor is not None
        return self.actor


Handler = Callable[[Call], Awaitable[Any]]


class BodyRefused(Exception):
    """The body is not one any schema could read: absent, or not declared as JSON."""

    def __init__(self, status: int, code: str, rule: str, message: Text) -> None:
        super().__init__(rule)
        self.status, self.code, self.rule, self.message = status, code, rule, message


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth = Auth.STAFF
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    """A pydantic model, ``list[Model]``, or None for 204."""
    status: int = 200
    media: str | None = None
    """The handler answers with a file of this type (HTTP Range honoured), not JSON."""
    errors: Sequence[int] = field(default_factory=tuple)
    """What the handler itself may refuse with; ``error_statuses`` adds what every endpoint
    of this shape may answer."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def error_statuses(self) -> frozenset[int]:
        """Every error status this endpoint answers with, for the document to declare."""
        # Every call writes at least its audit entry, so any of them can find storage full.
        codes = {*self.errors, 507}
        if self.body is not None or self.query is not None or "{" in self.path:
            codes.add(422)
        if self.auth is not Auth.PUBLIC:
            codes.add(401)
        if self.body is not None:
            codes |= {413, 415}
        return frozenset(codes)

    def aiohttp_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        response_adapter = TypeAdapter(self.response) if self.response is not None else None

        async def handle(request: web.Request) -> web.StreamResponse:
            actor = user = join = None
            try:
                if self.auth is Auth.STAFF:
                    token = bearer_token(request)
                    actor, user = await request.app[SERVICE].authenticate_staff(token)
                elif self.auth is Auth.JOIN:
                    join = await request.app[SERVICE].resolve_join_token(bearer_token(request))
            except AuthenticationFailed as refusal:
                await _audit_unauthenticated(request, self.operation_id, refusal)
                raise
            try:
                _check_path(request)
                body = await _read_body(request, self.body)
                query = _read_query(request, self.query)
            except ValidationError as error:
                return validation_error_response(error)
            except BodyRefused as refusal:
                return error_response(refusal.status, refusal.code, refusal.rule, refusal.message)
            result = await self.handler(Call(request, body, query, actor, user, join))
            if isinstance(result, web.StreamResponse):
                return result  # a file (see ``media``), served by the handler itself
            if response_adapter is None:
                return web.Response(status=204)
            payload = response_adapter.dump_python(result, mode="json")
            return web.json_response(
                payload, status=self.status, dumps=lambda d: json.dumps(d, ensure_ascii=False)
            )

        handle.__name__ = self.operation_id
        return handle


def add_routes(app: web.Application, endpoints: Sequence[Endpoint]) -> None:
    for endpoint in endpoints:
        app.router.add_route(endpoint.method, endpoint.path, endpoint.aiohttp_handler())


def is_list_annotation(annotation: Any) -> bool:
    """``list[X]`` or ``list[X] | None``: a query parameter that may be repeated."""
    return get_origin(annotation) is list or any(
        get_origin(arg) is list for arg in get_args(annotation)
    )


def client_address(request: web.Request) -> str:
    """The address the request came from: the client's, as a trusted reverse proxy tells it
    (``trusted_proxies``, see :mod:`web.proxy`), else the connection's peer."""
    return request.remote or "unknown"


async def _audit_unauthenticated(
    request: web.Request, operation: str, refusal: AuthenticationFailed
) -> None:
    """A refused token leaves an entry too, named by the address it came from; repeats from
    one address are coalesced by the service, however many connections they use."""
    await request.app[SERVICE].audit_unauthenticated(
        client_address(request),
        f"api.{operation}",
        refusal,
        {"method": request.method, "path": request.path[:200]},
    )


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "auth.missing_token",
            Text("Cần đăng nhập (thiếu mã truy cập).", "A bearer token is required."),
        )
    return token.strip()


def _check_path(request: web.Request) -> None:
    PATH_PARAMETERS.validate_python(dict(request.match_info))


async def _read_body(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_BODY_BYTES, actual_size=request.content_length
        )
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=len(raw))
    if not raw.strip():
        raise BodyRefused(
            422,
            "invalid_input",
            "request.body_required",
            Text("Cần gửi dữ liệu dạng JSON.", "A JSON body is required."),
        )
    if request.content_type != JSON:
        raise BodyRefused(
            415,
            "unsupported_media_type",
            "request.content_type",
            Text(
                f"Dữ liệu phải gửi dạng {JSON} (nhận được {request.content_type}).",
                f"The body must be sent as {JSON}, not {request.content_type}.",
            ),
        )
    return model.model_validate_json(raw)


def _read_query(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        field_info = model.model_fields.get(key)
        repeatable = field_info is not None and is_list_annotation(field_info.annotation)
        data[key] = values if repeatable else values[-1]
    # Query values are text: numbers are read from it (lax), while the text-shaped types
    # (times, ids, lines) still hold them to what the document says.
    return model.model_validate(data, strict=False)
