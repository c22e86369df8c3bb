"""``SelfSubjectAccessReview`` on the stand-in: may the caller do a verb on a resource?

``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` answers from the same per-verb
denials (:attr:`KubeStore.forbidden`) that make the stand-in's other routes answer 403, so a
test denies a verb once and both the actuators and ``steward targets check`` see it. As the
real API server, the review is created and returned at once (never stored), with its
``status``: ``allowed``, and ``denied`` plus a ``reason`` when RBAC has no rule for it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.support.kube_api.store import KubeStore

REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def _bad_request(message: str) -> JSONResponse:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "BadRequest",
        "code": 400,
    }
    return JSONResponse(body, status_code=400)


def _decide(store: KubeStore, attributes: dict[str, Any]) -> dict[str, Any]:
    verb, resource = attributes.get("verb") or "", attributes.get("resource") or ""
    subresource = attributes.get("subresource") or ""
    full = f"{resource}/{subresource}" if subresource else resource
    namespace = attributes.get("namespace") or ""
    store.reviews.append((verb, full, namespace))
    if (verb, full) in store.forbidden:
        return {"allowed": False, "denied": True, "reason": "no RBAC rule allows it"}
    return {"allowed": True, "reason": "the stand-in allows it"}


async def review(store: KubeStore, request: Request) -> JSONResponse:
    """Answer one SelfSubjectAccessReview (201 with its status), or 400 when malformed."""
    store.requests.append((request.method, request.url.path, request.url.query))
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        return _bad_request(f"the review is not JSON: {exc}")
    if not isinstance(body, dict) or body.get("kind") != "SelfSubjectAccessReview":
        return _bad_request("the body must be a SelfSubjectAccessReview")
    spec = body.get("spec") or {}
    attributes = spec.get("resourceAttributes")
    if not isinstance(attributes, dict) or not attributes.get("verb"):
        return _bad_request("spec.resourceAttributes.verb: Required value")
    answer = {**body, "metadata": body.get("metadata") or {}, "status": _decide(store, attributes)}
    return JSONResponse(answer, status_code=201)
