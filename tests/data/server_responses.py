"""Responses common servers and frameworks send to a failed webhook, with their true category.

Bodies follow what each server really emits: nginx's and AWS ALB's error pages, Envoy's and
Cloudflare's plain-text errors, FastAPI/pydantic, Django REST framework, Rails and Express JSON,
GitHub's and Stripe's rate-limit and signature errors. A few conflict on purpose (a 404 whose body
mentions a timeout): the status decides, and the verdict must never be "safe to replay".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

TRANSIENT = "transient_endpoint_down"
PERMANENT = "permanent_4xx"
RATE_LIMITED = "rate_limited"
UNKNOWN = "unknown"


def nginx_page(status: int, reason: str, server: str = "nginx") -> str:
    """nginx's built-in error page (AWS ALB sends the same shape as awselb/2.0)."""
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>{server}</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


@dataclass(frozen=True)
class Response:
    """One scripted response."""

    name: str
    status: int
    body: str
    label: str
    headers: dict[str, str] = field(default_factory=dict)
    # The category shows only in the body: a record of the status line alone cannot tell.
    decided_by_body: bool = False


HTML = {"Content-Type": "text/html"}
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}

_ALL = [
    Response("nginx_502", 502, nginx_page(502, "Bad Gateway"), TRANSIENT, HTML),
    Response("nginx_503", 503, nginx_page(503, "Service Temporarily Unavailable"), TRANSIENT, HTML),
    Response("nginx_504", 504, nginx_page(504, "Gateway Time-out"), TRANSIENT, HTML),
    Response("alb_502", 502, nginx_page(502, "Bad Gateway", "awselb/2.0"), TRANSIENT, HTML),
    Response("alb_504", 504, nginx_page(504, "Gateway Time-out", "awselb/2.0"), TRANSIENT, HTML),
    Response(
        "envoy_503",
        503,
        "upstream connect error or disconnect/reset before headers. "
        "reset reason: connection failure",
        TRANSIENT,
        TEXT,
    ),
    Response("envoy_no_upstream", 503, "no healthy upstream", TRANSIENT, TEXT),
    Response("envoy_504", 504, "upstream request timeout", TRANSIENT, TEXT),
    Response("cloudflare_520", 520, "error code: 520", TRANSIENT, TEXT),
    Response("cloudflare_522", 522, "error code: 522", TRANSIENT, TEXT),
    Response("cloudflare_524", 524, "error code: 524", TRANSIENT, TEXT),
    Response(
        "werkzeug_500",
        500,
        "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
        "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was "
        "unable to complete your request. Either the server is overloaded or there is an error "
        "in the application.</p>\n",
        TRANSIENT,
        HTML,
    ),
    Response("express_500", 500, "Internal Server Error", TRANSIENT, TEXT),
    Response("json_500", 500, json.dumps({"error": "internal_error"}), TRANSIENT, JSON),
    Response("heroku_503", 503, "Application Error", TRANSIENT, HTML),
    Response("nginx_408", 408, nginx_page(408, "Request Time-out"), TRANSIENT, HTML),
    Response(
        "json_400",
        400,
        json.dumps({"error": "invalid_request", "message": "Invalid JSON payload"}),
        PERMANENT,
        JSON,
    ),
    Response(
        "express_400",
        400,
        "SyntaxError: Unexpected token } in JSON at position 12",
        PERMANENT,
        HTML,
    ),
    Response("nginx_400", 400, nginx_page(400, "Bad Request"), PERMANENT, HTML),
    Response("json_401", 401, json.dumps({"message": "Unauthorized"}), PERMANENT, JSON),
    Response(
        "stripe_signature_401",
        401,
        json.dumps(
            {
                "error": {
                    "message": "No signatures found matching the expected signature for payload",
                    "type": "invalid_request_error",
                }
            }
        ),
        PERMANENT,
        JSON,
    ),
    Response("json_403", 403, json.dumps({"message": "Forbidden"}), PERMANENT, JSON),
    Response("nginx_403", 403, nginx_page(403, "Forbidden"), PERMANENT, HTML),
    Response("nginx_404", 404, nginx_page(404, "Not Found"), PERMANENT, HTML),
    Response("fastapi_404", 404, json.dumps({"detail": "Not Found"}), PERMANENT, JSON),
    Response("fastapi_405", 405, json.dumps({"detail": "Method Not Allowed"}), PERMANENT, JSON),
    Response(
        "gone_410",
        410,
        json.dumps({"error": "This webhook endpoint has been deleted"}),
        PERMANENT,
        JSON,
    ),
    Response("nginx_413", 413, nginx_page(413, "Request Entity Too Large"), PERMANENT, HTML),
    Response("fastapi_415", 415, json.dumps({"detail": "Unsupported Media Type"}), PERMANENT, JSON),
    Response(
        "fastapi_422",
        422,
        json.dumps(
            {
                "detail": [
                    {
                        "type": "missing",
                        "loc": ["body", "event"],
                        "msg": "Field required",
                        "input": {"a": 1},
                    }
                ]
            }
        ),
        PERMANENT,
        JSON,
    ),
    Response(
        "drf_400",
        400,
        json.dumps({"amount": ["This field is required."], "currency": ["Not a valid choice."]}),
        PERMANENT,
        JSON,
    ),
    Response(
        "rails_422",
        422,
        json.dumps({"errors": {"event_type": ["can't be blank"]}}),
        PERMANENT,
        JSON,
    ),
    Response(
        "jsonschema_400",
        400,
        json.dumps(
            {"error": "payload does not match schema", "details": "'id' is a required property"}
        ),
        PERMANENT,
        JSON,
    ),
    Response(
        "conflict_404_timeout",
        404,
        json.dumps({"error": "route lookup timed out; no handler for this path"}),
        PERMANENT,
        JSON,
    ),
    Response(
        "conflict_400_reset",
        400,
        "Bad Request: connection reset while reading request body",
        PERMANENT,
        TEXT,
    ),
    Response(
        "rate_429_retry_after",
        429,
        json.dumps({"error": "Too Many Requests"}),
        RATE_LIMITED,
        {**JSON, "Retry-After": "30"},
    ),
    Response("rate_429_plain", 429, "Rate limit exceeded", RATE_LIMITED, TEXT),
    Response(
        "rate_429_headers",
        429,
        "",
        RATE_LIMITED,
        {
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1718000000",
        },
    ),
    Response(
        "github_403_rate",
        403,
        json.dumps(
            {
                "message": "API rate limit exceeded for installation ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }
        ),
        RATE_LIMITED,
        {**JSON, "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0"},
    ),
    Response(
        "maintenance_503_retry_after",
        503,
        "Service Unavailable",
        RATE_LIMITED,
        {**TEXT, "Retry-After": "120"},
    ),
    Response(
        "throttled_503",
        503,
        "Throttled: too many requests from this client",
        RATE_LIMITED,
        TEXT,
        decided_by_body=True,
    ),
    Response("conflict_409", 409, json.dumps({"error": "event already processed"}), UNKNOWN, JSON),
    Response("nginx_501", 501, nginx_page(501, "Not Implemented"), UNKNOWN, HTML),
    Response(
        "moved_301",
        301,
        nginx_page(301, "Moved Permanently"),
        UNKNOWN,
        {**HTML, "Location": "https://hooks.example.com/v2/webhooks"},
    ),
    Response(
        "schema_500",
        500,
        json.dumps({"error": "payload failed schema validation"}),
        UNKNOWN,
        JSON,
        decided_by_body=True,
    ),
    Response("redirect_loop", 302, "", UNKNOWN),
]

RESPONSES = {response.name: response for response in _ALL}
