"""Every error leaves as JSON: a machine-readable code, the refusing rule, and text in
Vietnamese and English."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from hearing_server.persistence.database import is_storage_full
from hearing_server.persistence.repositories import ConcurrentUpdate
from hearing_server.services import AuthenticationFailed, RateLimited
from rooms.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyViolation,
)
from rooms.text import Text
from web.minutes_pdf import MissingFont

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (AuthenticationFailed, 401),
    (RateLimited, 429),
    (PermissionDenied, 403),
    (NotFound, 404),
    (InvalidTransition, 409),
    (PolicyViolation, 422),
    (InvalidInput, 422),
]

STORAGE_FULL = Text(
    "Máy chủ đã hết dung lượng lưu trữ; thao tác chưa được lưu. Bộ phận kỹ thuật đã được báo.",
    "The server's storage is full; nothing was saved. IT staff have been alerted.",
)


FONT_MISSING = Text(
    "Máy chủ chưa cài phông chữ để tạo bản PDF của biên bản; bộ phận kỹ thuật cần cài gói "
    "fonts-dejavu-core.",
    "The server lacks the font the minutes' PDF needs; IT staff must install fonts-dejavu-core.",
)


def error_body(code: str, rule: str, message: Text, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "rule": rule, "message": message.as_dict(), **extra}}


def error_response(status: int, code: str, rule: str, message: Text, **extra: Any) -> web.Response:
    return web.json_response(
        error_body(code, rule, message, **extra),
        status=status,
        dumps=lambda d: json.dumps(d, ensure_ascii=False),
    )


def domain_error_response(error: DomainError) -> web.Response:
    status = next((s for cls, s in STATUS_BY_ERROR if isinstance(error, cls)), 400)
    response = error_response(status, error.code, error.rule, error.message)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def validation_error_response(error: ValidationError) -> web.Response:
    problems = [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_input=False)
    ]
    return error_response(
        422,
        "invalid_input",
        "request.schema",
        Text("Dữ liệu gửi lên không hợp lệ.", "The request does not match the schema."),
        problems=problems,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except DomainError as error:
        return domain_error_response(error)
    except ValidationError as error:
        return validation_error_response(error)
    except ConcurrentUpdate:
        return error_response(
            409,
            "conflict",
            "session.concurrent_update",
            Text("Phiên vừa được người khác thay đổi, hãy thử lại.", "The session changed; retry."),
        )
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        response = error_response(
            exc.status,
            "http_error",
            f"http.{exc.status}",
            Text(exc.reason, exc.reason),
        )
        # A 405 must say which methods are allowed (RFC 9110).
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except MissingFont as error:
        log.error("%s %s: %s", request.method, request.path, error)
        return error_response(503, "server.font_missing", "server.font_missing", FONT_MISSING)
    except Exception as error:
        if is_storage_full(error):
            log.error("storage full on %s %s: %s", request.method, request.path, error)
            return error_response(507, "server.storage_full", "server.storage_full", STORAGE_FULL)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500,
            "internal_error",
            "server.internal",
            Text("Lỗi máy chủ; đã ghi nhận.", "Internal server error; it has been logged."),
        )
