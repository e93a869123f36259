"""The OpenAPI document matches the router and the real responses; health and metrics."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hearing_server import __version__
from hearing_server.app import OPENAPI_PATH
from tests.api.conftest import API, Api, Reply
from web.api import ENDPOINTS
from web.keys import HEALTH_CHECKS

METHODS = {"get", "post", "put", "patch", "delete"}


async def _document(api: Api) -> dict[str, Any]:
    reply = await api.as_token(None).get(OPENAPI_PATH)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    return dict(reply.body)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _problems(doc: dict[str, Any], schema: dict[str, Any], value: Any, at: str = "$") -> list[str]:
    """Just enough of JSON Schema for what pydantic writes (jsonschema isn't installed)."""
    if "$ref" in schema:
        return _problems(doc, _resolve(doc, schema["$ref"]), value, at)
    if "anyOf" in schema:
        options = [_problems(doc, s, value, at) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else [f"{at}: matches no anyOf: {options}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if kind is not None and not checks[kind](value):
        return [f"{at}: {value!r} is not {kind}"]
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return [f"{at}: {value!r} is not a date-time"]
    problems: list[str] = []
    if kind == "object":
        properties = schema.get("properties", {})
        problems += [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in properties:
                problems += _problems(doc, properties[key], item, f"{at}.{key}")
            elif properties and schema.get("additionalProperties") is not True:
                problems.append(f"{at}: undocumented {key}")
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            problems += _problems(doc, schema["items"], item, f"{at}[{index}]")
    return problems


def _check(doc: dict[str, Any], method: str, path: str, reply: Reply) -> None:
    responses = doc["paths"][path][method]["responses"]
    assert str(reply.status) in responses, f"{method} {path}: {reply.status} is undocumented"
    content = responses[str(reply.status)].get("content")
    if content is None:
        assert reply.body == ""
        return
    schema = content["application/json"]["schema"]
    assert _problems(doc, schema, reply.body) == [], (method, path, reply.status)


async def test_the_document_is_openapi_3_1(api: Api) -> None:
    doc = await _document(api)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["version"] == __version__
    assert doc["info"]["title"]
    assert set(doc["components"]["securitySchemes"]) == {"staff", "join"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith(API + "/")
        assert set(item) <= METHODS, path
        for method, op in item.items():
            operation_ids.append(op["operationId"])
            assert op["summary"] and op["tags"], (method, path)
            assert op["responses"], (method, path)
            assert all(re.fullmatch(r"[2-5]\d\d", code) for code in op["responses"])
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            for param in op.get("parameters", []):
                assert param["in"] in {"path", "query"}
                assert "schema" in param
            if "requestBody" in op:
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                assert isinstance(_resolve(doc, schema["$ref"]), dict)
                assert "422" in op["responses"]
                assert "413" in op["responses"]
                assert "415" in op["responses"]
            if op.get("security"):
                assert "401" in op["responses"], (method, path)
    assert len(operation_ids) == len(set(operation_ids))
    for ref in _refs(doc):
        _resolve(doc, ref)
    assert doc["paths"][f"{API}/auth/login"]["post"].get("security") is None
    assert doc["paths"][f"{API}/sessions/{{session_id}}/me"]["get"]["security"] == [{"join": []}]
    assert doc["paths"][f"{API}/hearings"]["post"]["security"] == [{"staff": []}]


async def test_the_document_declares_what_the_server_answers_and_refuses(api: Api) -> None:
    doc = await _document(api)
    paths = doc["paths"]
    assert "401" in paths[f"{API}/auth/login"]["post"]["responses"]
    for listing in ("sessions", "hearings", "meetings"):
        # An unknown court_id with a day to search is 404.
        assert "404" in paths[f"{API}/{listing}"]["get"]["responses"], listing
    schemas = doc["components"]["schemas"]
    printable = schemas["ParticipantIn"]["properties"]["name"]["pattern"]
    assert re.fullmatch(printable, "Nguyễn Văn A")
    assert not re.fullmatch(printable, "Nguyễn\x00Văn A")
    assert schemas["LoginIn"]["properties"]["username"]["pattern"] == printable
    assert schemas["CaseIn"]["properties"]["number"]["pattern"] == printable
    assert schemas["AuditQuery"]["properties"]["after_seq"]["maximum"] == 2**31 - 1
    assert schemas["SessionQuery"]["properties"]["offset"]["maximum"] == 2**31 - 1
    assert "Asia/Ho_Chi_Minh" in schemas["CourtIn"]["properties"]["time_zone"]["enum"]
    for path, item in paths.items():
        for method, op in item.items():
            # Any call may meet a full disk: its audit entry is a write (test_storage_full).
            assert "507" in op["responses"], (method, path)
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    pattern = param["schema"]["pattern"]  # ids: printable, and no spaces
                    assert not re.fullmatch(pattern, "a\x00b") and not re.fullmatch(pattern, " ")
                    assert re.fullmatch(pattern, "0f3a9c"), (method, path)
                    assert "422" in op["responses"], (method, path)


async def test_the_document_and_the_router_agree(api: Api) -> None:
    doc = await _document(api)
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routed = {
        (route.method, route.resource.canonical)
        for route in api.client.server.app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and route.resource.canonical.startswith(API + "/")
        and route.resource.canonical != OPENAPI_PATH
    }
    assert routed == documented
    assert len(routed) == len(ENDPOINTS)


async def test_real_responses_match_their_documented_schemas(api: Api) -> None:
    doc = await _document(api)
    session = f"{API}/sessions/{{session_id}}"
    login = await api.post(
        f"{API}/auth/login", {"username": "admin", "password": "password-long-enough"}
    )
    _check(doc, "post", f"{API}/auth/login", login)
    _check(doc, "get", f"{API}/auth/me", await api.get(f"{API}/auth/me"))
    _check(doc, "get", f"{API}/users", await api.get(f"{API}/users"))
    _check(doc, "get", f"{API}/courts", await api.get(f"{API}/courts"))

    hearing_reply = await api.post(f"{API}/hearings", {**_hearing()})
    _check(doc, "post", f"{API}/hearings", hearing_reply)
    hearing = hearing_reply.body
    sid = hearing["id"]
    point = await api.post(f"{session}/points".format(session_id=sid), _point())
    _check(doc, "post", f"{session}/points", point)
    added = await api.post(
        f"{session}/participants".format(session_id=sid),
        {"name": "Nguyễn Văn A", "role": "defendant", "point_id": point.body["id"]},
    )
    _check(doc, "post", f"{session}/participants", added)
    pid = added.body["participant"]["id"]
    links = f"{session}/participants/{{participant_id}}/links"
    _check(doc, "post", links, await api.post(links.format(session_id=sid, participant_id=pid)))
    _check(doc, "get", links, await api.get(links.format(session_id=sid, participant_id=pid)))
    me = await api.get(
        f"{session}/me".format(session_id=sid), token=added.body["join_link"]["token"]
    )
    _check(doc, "get", f"{session}/me", me)
    _check(doc, "get", f"{API}/hearings", await api.get(f"{API}/hearings"))
    _check(doc, "get", session, await api.get(session.format(session_id=sid)))
    patched = await api.patch(session.format(session_id=sid), {"scheduled_end": None})
    _check(doc, "patch", session, patched)
    revoke = f"{session}/links/{{invitation_id}}"
    invitation = added.body["join_link"]["invitation"]["id"]
    _check(
        doc,
        "delete",
        revoke,
        await api.delete(revoke.format(session_id=sid, invitation_id=invitation)),
    )
    _check(doc, "get", f"{API}/audit", await api.get(f"{API}/audit"))

    # Errors are documented too, with the shared Error schema.
    _check(doc, "get", session, await api.get(session.format(session_id="nosuch")))
    _check(doc, "get", f"{API}/users", await api.get(f"{API}/users", token="bad"))
    _check(doc, "post", f"{API}/hearings", await api.post(f"{API}/hearings", {"x": 1}))
    _check(
        doc,
        "post",
        f"{API}/hearings",
        await api.post(
            f"{API}/hearings", {**_hearing(), "case": {**_case(), "instance": "cassation"}}
        ),
    )
    # The checker itself notices a response that strays from its schema.
    session_schema = {"$ref": "#/components/schemas/SessionOut"}
    assert _problems(doc, session_schema, hearing) == []
    strays = [
        {**hearing, "state": "dancing"},
        {k: v for k, v in hearing.items() if k != "points"},
        {**hearing, "secret": True},
        {**hearing, "case": {**hearing["case"], "closed_hearing": "no"}},
        {**hearing, "scheduled_start": "yesterday"},
    ]
    for stray in strays:
        assert _problems(doc, session_schema, stray) != [], stray

    cancelled = await api.post(f"{session}/cancel".format(session_id=sid))
    _check(doc, "post", f"{session}/cancel", cancelled)
    _check(
        doc, "post", f"{session}/cancel", await api.post(f"{session}/cancel".format(session_id=sid))
    )


def _case() -> dict[str, Any]:
    return {"number": "5/2026/HC-ST", "case_type": "administrative"}


def _hearing() -> dict[str, Any]:
    return {"case": _case(), "scheduled_start": "2026-12-01T08:00:00+07:00"}


def _point() -> dict[str, Any]:
    return {"name": "Văn phòng luật sư", "kind": "lawyer_office"}


async def test_health_and_its_degraded_state(api: Api) -> None:
    reply = await api.as_token(None).get("/healthz")
    assert reply.status == 200
    lag = reply.body.pop("loop_lag")
    assert reply.body == {
        "status": "ok",
        "version": __version__,
        "mode": "embedded",
        "checks": {"database": "ok", "redis": "disabled"},
    }
    assert set(lag) == {"p50_ms", "p99_ms", "max_ms", "window_seconds", "overloaded"}

    async def down() -> bool:
        return False

    api.client.server.app[HEALTH_CHECKS]["database"] = down
    reply = await api.as_token(None).get("/healthz")
    assert reply.status == 503
    assert reply.body["status"] == "degraded"
    assert reply.body["checks"] == {"database": "down", "redis": "disabled"}


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    hearing = await api.schedule_hearing()
    for _ in range(3):
        assert (await api.get(f"{API}/sessions/{hearing['id']}")).status == 200
    assert (await api.get(f"{API}/sessions/nosuchsession")).status == 404
    assert (await api.get("/no/such/page")).status == 404

    reply = await api.as_token(None).get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    metrics = reply.body
    assert "# TYPE hearing_http_requests_total counter" in metrics
    assert "# TYPE hearing_http_request_seconds histogram" in metrics
    samples = _samples(metrics, "hearing_http_requests_total")
    route = "/api/v1/sessions/{session_id}"
    assert samples[("GET", route, "200")] == 3.0
    assert samples[("GET", route, "404")] == 1.0
    assert samples[("POST", f"{API}/hearings", "201")] == 1.0
    assert samples[("POST", f"{API}/auth/login", "200")] == 1.0
    assert samples[("GET", "unmatched", "404")] == 1.0
    # No raw ids or paths in the labels: the label set stays small.
    assert hearing["id"] not in metrics
    assert "nosuchsession" not in metrics
    assert "/no/such/page" not in metrics


def _samples(metrics: str, name: str) -> dict[tuple[str, str, str], float]:
    pattern = re.compile(
        re.escape(name) + r'\{method="([^"]*)",route="([^"]*)",status="([^"]*)"\} (\S+)'
    )
    return {(m[1], m[2], m[3]): float(m[4]) for m in pattern.finditer(metrics)}
