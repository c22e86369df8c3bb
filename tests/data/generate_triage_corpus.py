"""Regenerate ``triage_corpus.jsonl`` from failures triggered for real on this machine.

Run ``python -m tests.data.generate_triage_corpus`` with requests, urllib3, httpx and aiohttp
installed (requests and aiohttp are not project dependencies; the JSONL is committed). Every
example is a real exception message or response of one of those libraries, talking to servers
on 127.0.0.1 that refuse, stall, reset, disconnect or answer with a status and body. Each label
comes from the scenario that produced the example, never from the classifier.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import requests
import urllib3

from tests.data.local_servers import closed_port, http_server, numeric_hosts_only, raw_server
from tests.data.server_responses import RESPONSES, Response

OUTPUT = Path(__file__).with_name("triage_corpus.jsonl")
TIMEOUT = 0.3
PATHS = ["/webhooks/orders", "/hooks/invalid-events", "/api/timeout-handler", "/not-found/cb"]


def _formats(error: BaseException) -> list[str]:
    """The ways senders record an exception: str, 'Type: msg', 'module.Type: msg', repr."""
    kind = type(error)
    texts = [
        str(error),
        f"{kind.__name__}: {error}",
        f"{kind.__module__}.{kind.__qualname__}: {error}",
        repr(error),
    ]
    # An empty message on its own records nothing about the failure; no sender keeps that.
    return [text for text in texts if text.strip()]


def _sync_failures(url: str) -> list[BaseException]:
    """Trigger one request per library against ``url`` and collect what each raises."""
    caught: list[BaseException] = []
    calls: list[Callable[[], Any]] = [
        lambda: requests.post(url, json={"a": 1}, timeout=TIMEOUT),
        lambda: urllib3.PoolManager(retries=False).request("POST", url, timeout=TIMEOUT),
        lambda: urllib3.PoolManager(retries=urllib3.Retry(1)).request("POST", url, timeout=TIMEOUT),
        lambda: httpx.post(url, json={"a": 1}, timeout=TIMEOUT),
        lambda: urllib.request.urlopen(url, data=b"{}", timeout=TIMEOUT),
    ]
    for call in calls:
        try:
            call()
        except Exception as error:  # noqa: BLE001 - collecting whatever the library raises
            caught.append(error)
    caught.extend(asyncio.run(_async_failures(url)))
    return caught


async def _async_failures(url: str) -> list[BaseException]:
    caught: list[BaseException] = []
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json={"a": 1}) as response,
        ):
            response.raise_for_status()
            await response.read()
    except Exception as error:  # noqa: BLE001
        caught.append(error)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            await client.post(url, json={"a": 1})
    except Exception as error:  # noqa: BLE001
        caught.append(error)
    return caught


def _example(
    label: str, scenario: str, status: int | None, text: str, headers: dict[str, str]
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "status_code": status,
        "error_text": text,
        "response_headers": headers,
        "label": label,
    }


def network_examples() -> list[dict[str, Any]]:
    """Refused, stalled, reset, closed, truncated and unresolvable connections: transient."""
    examples = []
    for path in PATHS:
        refused = f"http://127.0.0.1:{closed_port()}{path}"
        for error in _sync_failures(refused):
            examples += [
                _example("transient_endpoint_down", "refused", None, t, {}) for t in _formats(error)
            ]
    for behaviour in ("stall", "reset", "close", "truncate"):
        with raw_server(behaviour) as port:
            for path in PATHS[:2]:
                for error in _sync_failures(f"http://127.0.0.1:{port}{path}"):
                    examples += [
                        _example("transient_endpoint_down", behaviour, None, t, {})
                        for t in _formats(error)[:2]
                    ]
    examples += dns_examples()
    return examples


def dns_examples() -> list[dict[str, Any]]:
    """Unresolvable names, resolved locally only (AI_NUMERICHOST never asks a DNS server)."""
    with numeric_hosts_only():
        errors = _sync_failures("http://hooks.tenant-a.invalid/webhooks")
    return [
        _example("transient_endpoint_down", "dns", None, t, {})
        for error in errors
        for t in _formats(error)[:2]
    ]


def response_examples() -> list[dict[str, Any]]:
    """Real responses: status and body as recorded, plus each library's raise_for_status text."""
    examples = []
    with http_server() as port:
        for name, response in RESPONSES.items():
            url = f"http://127.0.0.1:{port}/hooks/{name}"
            if name == "redirect_loop":
                try:
                    requests.post(url, timeout=1)
                except requests.TooManyRedirects as error:
                    examples += [
                        _example(response.label, name, None, t, {}) for t in _formats(error)[:2]
                    ]
                continue
            answer = requests.post(url, json={"a": 1}, timeout=1, allow_redirects=False)
            headers = dict(answer.headers)
            examples.append(
                _example(response.label, name, answer.status_code, answer.text, headers)
            )
            status_line = f"HTTP/1.1 {answer.status_code} {answer.reason}"
            if not response.decided_by_body:
                examples.append(_example(response.label, name, None, status_line, headers))
            # A raw dump: status line, then the body, as proxies and some senders log it.
            dump = f"{status_line}\r\n\r\n{answer.text}" if answer.text else status_line
            examples.append(_example(response.label, name, None, dump, headers))
            examples += _raised(response, url, headers)
    return examples


def _raised(response: Response, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    texts: list[str] = []
    try:
        requests.post(url, timeout=1, allow_redirects=False).raise_for_status()
    except requests.HTTPError as error:
        texts.append(str(error))
    try:
        httpx.post(url, timeout=1).raise_for_status()
    except httpx.HTTPStatusError as error:
        texts.append(str(error))

    async def aiohttp_error() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, allow_redirects=False) as answer,
        ):
            answer.raise_for_status()

    try:
        asyncio.run(aiohttp_error())
    except aiohttp.ClientResponseError as error:
        texts.append(f"{type(error).__name__}: {error}")
    # Senders that keep the exception text lose the status code; they add the body to it.
    body = response.body[:300]
    return [
        _example(
            response.label, response.name, None, f"{text} | body: {body}" if body else text, headers
        )
        for text in texts
    ]


# What each library raises for a URL it cannot use (urllib3 takes a scheme-less URL as http).
URL_ERRORS = (
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    aiohttp.InvalidURL,
    urllib3.exceptions.LocationParseError,
    urllib3.exceptions.URLSchemeUnknown,
)


def invalid_url_examples() -> list[dict[str, Any]]:
    """Endpoints whose URL no library can use: permanent."""
    examples = []
    urls = [
        "hooks.example.com/webhook",
        "ftp://hooks.example.com/x",
        "http://",
        "http://exa mple.com/\x00",
    ]
    with numeric_hosts_only():
        errors = [error for url in urls for error in _sync_failures(url)]
    for error in errors:
        is_url_error = isinstance(error, URL_ERRORS) or "unknown url type" in str(error)
        if is_url_error:
            examples += [
                _example("permanent_4xx", "invalid_url", None, t, {})
                for t in _formats(error)[:2]
                if t not in urls  # aiohttp's InvalidURL message is the URL alone
            ]
    return examples


def tls_examples() -> list[dict[str, Any]]:
    """https to a plain-HTTP port: a protocol mismatch the endpoint's owner must fix."""
    examples = []
    with http_server() as port:
        for error in _sync_failures(f"https://127.0.0.1:{port}/hooks/ok"):
            examples += [
                _example("unknown", "tls_mismatch", None, t, {}) for t in _formats(error)[:2]
            ]
    return examples


def main() -> None:
    """Write the corpus, one JSON object per line, with stable ids."""
    examples = network_examples() + response_examples() + invalid_url_examples() + tls_examples()
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for example in examples:
        key = (
            example["status_code"],
            example["error_text"],
            json.dumps(example["response_headers"], sort_keys=True),
        )
        unique.setdefault(key, example)
    with OUTPUT.open("w") as output:
        for number, example in enumerate(unique.values(), start=1):
            output.write(json.dumps({"id": f"c{number:04d}", **example}) + "\n")
    print(f"wrote {len(unique)} examples to {OUTPUT}")


if __name__ == "__main__":
    main()
