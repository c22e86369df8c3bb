"""Values that once made 500s, sent to every operation of the OpenAPI document (issue 13, item 6).

Lone UTF-16 surrogates, control characters, huge numbers, non-ASCII digits and JSON's
unofficial NaN/Infinity go into every path parameter, every query parameter and every body
property of every route, on the API served with Slack configured. No answer may be a 5xx,
and every JSON answer must parse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from temporalio.worker import Worker

from tests.support import slack_world
from tests.support.fake_slack import signed_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

fake_slack = slack_world.fake_slack
slack_api = slack_world.slack_api

HOSTILE_TEXT = [
    "\ud800",
    "ok\udfffok",
    "nul\x00byte",
    "\x07bell \x1b[31m ansi\x7f",
    "line\nbreak\ttab",
    "9" * 5000,
    "1" + "0" * 20,  # parses as an int, but no database column holds it
    "-" + "9" * 30,
    "²",
    "١٧٠٠٠٠٠٠٠٠",  # Arabic-Indic digits: int() reads them
]
# JSON tokens Python's json module reads although JSON has no such numbers.
HOSTILE_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "-" + "9" * 400]


def hostile_tokens() -> list[str]:
    """Every hostile value as a JSON token (strings with ASCII escapes, like \\ud800)."""
    return [json.dumps(text) for text in HOSTILE_TEXT] + HOSTILE_TOKENS


def in_url(text: str) -> str:
    # What a client sends for text UTF-8 cannot encode: its code units' bytes.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def as_header(value: str) -> bytes:
    # HTTP header bytes are read as Latin-1: "²" arrives as itself, Arabic digits as UTF-8.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


@pytest.fixture
def hostile_api(generous_limits: None, slack_api: str) -> str:
    return slack_api


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def body_properties(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return list(schema.get("properties", {}))


def requests_for(
    document: dict[str, Any], method: str, path: str, operation: dict[str, Any]
) -> Iterator[tuple[str, str, str | None]]:
    """Yield (label, url, raw body) with one hostile value in one place each."""
    parameters = operation.get("parameters", [])
    plain_path = path
    for parameter in (p for p in parameters if p["in"] == "path"):
        plain_path = plain_path.replace("{" + parameter["name"] + "}", "x1")
    has_body = "requestBody" in operation
    empty_body = "{}" if has_body else None
    for text in HOSTILE_TEXT:
        for parameter in parameters:
            name = parameter["name"]
            if parameter["in"] == "path":
                url = path.replace("{" + name + "}", in_url(text))
                for other in (p for p in parameters if p["in"] == "path" and p["name"] != name):
                    url = url.replace("{" + other["name"] + "}", "x1")
                yield f"path {name}={text[:12]!r}", url, empty_body
            elif parameter["in"] == "query":
                query = f"?{quote(name)}={in_url(text)}"
                yield f"query {name}={text[:12]!r}", plain_path + query, empty_body
    if not has_body:
        return
    for token in hostile_tokens():
        yield f"body={token[:12]}", plain_path, token
        for name in body_properties(document, operation):
            yield f"body.{name}={token[:12]}", plain_path, f'{{"{name}": {token}}}'
        # One level down: in a list and in an object (a playbook's params).
        nested = f'{{"events": [{{"id": {token}}}], "params": {{"k": {token}}}}}'
        yield f"body nested={token[:12]}", plain_path, nested


async def test_no_value_makes_a_server_error_on_any_route(
    hostile_api: str, api_keys: dict[str, str], worker: Worker
) -> None:
    sent = 0
    async with httpx.AsyncClient(base_url=hostile_api, timeout=30) as api:
        document = (await api.get("/openapi.json")).json()
        for method, path, operation in operations(document):
            for label, url, body in requests_for(document, method, path, operation):
                headers = {"X-API-Key": api_keys["admin"], "Content-Type": "application/json"}
                answer = await api.request(method, url, content=body, headers=headers)
                sent += 1
                where = f"{method} {path} {label}"
                assert answer.status_code < 500, (where, answer.text)
                if answer.headers.get("content-type", "").startswith("application/json"):
                    answer.json()  # always valid JSON, whatever was echoed
    assert sent > 1000, sent


@pytest.mark.usefixtures("temporal_env")
async def test_lone_surrogates_in_incidents_keys_and_decisions_are_422_naming_the_field(
    hostile_api: str, api_keys: dict[str, str]
) -> None:
    cases = {
        "/api/v1/incidents": (
            '{"service": "demo", "signal": "s", "severity": "low", "playbook": "high_latency",'
            ' "summary": "bad \\ud800"}',
            "summary",
        ),
        "/api/v1/keys": ('{"principal": "\\udfff", "roles": ["operator"]}', "principal"),
        "/api/v1/approvals/a-1/decision": (
            '{"decision": "approve", "comment": "x\\ud800y"}',
            "comment",
        ),
        "/api/v1/events": ('{"events": [{"id": "e", "labels": {"\\ud800": "v"}}]}', "events[0]"),
    }
    headers = {"X-API-Key": api_keys["admin"], "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=hostile_api, timeout=30) as api:
        for path, (body, field) in cases.items():
            answer = await api.post(path, content=body, headers=headers)
            assert answer.status_code == 422, (path, answer.text)
            [error] = answer.json()["errors"]
            assert error["field"].startswith(field) and error["type"] == "lone_surrogate"
            assert "surrogate" in answer.json()["detail"]
        # A valid pair is one character (an emoji), not a lone surrogate.
        emoji = '{"decision": "approve", "comment": "\\ud83d\\ude00"}'
        answer = await api.post("/api/v1/approvals/a-1/decision", content=emoji, headers=headers)
        assert answer.status_code == 404, answer.text


@pytest.mark.parametrize(
    "stamp",
    ["9" * 5000, "²", "١٧٠٠٠٠٠٠٠٠", "-1", "1e10", "1700000000.5", "NaN", "1" * 13],
    ids=[
        "5000 nines",
        "superscript two",
        "arabic digits",
        "negative",
        "exponent",
        "decimal",
        "nan",
        "13 digits",
    ],
)
async def test_slack_timestamps_that_are_not_ascii_seconds_are_refused_with_401(
    hostile_api: str, stamp: str
) -> None:
    body = b"command=%2Fsteward&text=status&user_id=U1&channel_id=C1"
    headers = signed_headers(body)
    headers["X-Slack-Request-Timestamp"] = stamp
    async with httpx.AsyncClient(base_url=hostile_api, timeout=30) as api:
        for path in ("/slack/commands", "/slack/interactions"):
            answer = await api.post(
                path,
                content=body,
                headers={k: as_header(v) for k, v in headers.items()},
            )
            assert answer.status_code == 401, (path, answer.text)
