"""The stand-in Kubernetes API server: the REST surface the Kubernetes actuators use.

Paths, verbs, query parameters (``labelSelector``, ``fieldSelector``, ``dryRun``), patch
content types and error bodies (``Status`` objects with their reasons) are the real API
server's, so the real client (lightkube) talks to it unchanged.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.kube_api.access import REVIEW_PATH, review
from tests.support.kube_api.patching import merge_patch, strategic_merge_patch
from tests.support.kube_api.selectors import fields_match, labels_match, match_labels
from tests.support.kube_api.store import RESOURCES, KubeStore

PATCHERS = {
    "application/merge-patch+json": merge_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
}


def status(code: int, reason: str, message: str, **details: Any) -> JSONResponse:
    """A ``Status`` object, the body of every API server error."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure" if code >= 400 else "Success",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }
    return JSONResponse(body, status_code=code)


def _qualified(plural: str) -> str:
    group = RESOURCES[plural].group
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, name: str) -> JSONResponse:
    """404 NotFound, worded as the API server words it."""
    return status(
        404, "NotFound", f'{_qualified(plural)} "{name}" not found', name=name, kind=plural
    )


def forbidden(verb: str, resource: str, namespace: str, name: str) -> JSONResponse:
    """403 Forbidden naming the verb and resource the caller lacks, as RBAC does."""
    plural, _, sub = resource.partition("/")
    group = RESOURCES[plural].group
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (
        f'{_qualified(plural)} "{name}" is forbidden: User "steward" cannot {verb} resource '
        f'"{plural}"{f" subresource {sub!r}" if sub else ""} in API group "{group}"{where}'
    )
    return status(403, "Forbidden", message, name=name, group=group, kind=plural)


class KubeApi:
    """The routes over one :class:`KubeStore`."""

    def __init__(self, store: KubeStore) -> None:
        self.store = store

    def _denied(self, verb: str, resource: str, namespace: str, name: str) -> JSONResponse | None:
        self.store.asked.append((verb, resource, namespace))
        if (verb, resource) in self.store.forbidden:
            return forbidden(verb, resource, namespace, name)
        return None

    async def dispatch(self, request: Request) -> JSONResponse:
        """Route one request by its path parameters and method."""
        params = request.path_params
        plural, namespace, name = params["plural"], params.get("namespace", ""), params.get("name")
        self.store.requests.append((request.method, request.url.path, request.url.query))
        kind = RESOURCES.get(plural)
        if kind is None or params.get("group", "") != kind.group:
            return status(404, "NotFound", "the server could not find the requested resource")
        if name is None:
            if request.method != "GET":
                return status(405, "MethodNotAllowed", f"{request.method} on a collection")
            return self._list(request, plural, namespace or None)
        if request.method == "GET":
            return self._get(plural, namespace, name)
        if request.method == "PATCH":
            return await self._patch(request, plural, namespace, name)
        if request.method == "DELETE" and plural == "pods":
            return self._delete(request, plural, namespace, name)
        return status(405, "MethodNotAllowed", f"{request.method} is not served for {plural}")

    def _list(self, request: Request, plural: str, namespace: str | None) -> JSONResponse:
        denied = self._denied("list", plural, namespace or "", "")
        if denied is not None:
            return denied
        labels = request.query_params.get("labelSelector", "")
        fields = request.query_params.get("fieldSelector", "")
        items = [
            obj
            for obj in self.store.items(plural, namespace)
            if labels_match(obj["metadata"].get("labels") or {}, labels)
            and fields_match(obj, fields)
        ]
        kind = RESOURCES[plural]
        return JSONResponse(
            {
                "apiVersion": kind.api_version,
                "kind": f"{kind.kind}List",
                "metadata": {"resourceVersion": self.store.next_version()},
                "items": items,
            }
        )

    def _get(self, plural: str, namespace: str, name: str) -> JSONResponse:
        denied = self._denied("get", plural, namespace, name)
        if denied is not None:
            return denied
        obj = self.store.get(plural, namespace, name)
        if obj is None:
            return not_found(plural, name)
        changes = self.store.races.pop((plural, namespace, name), None)
        if changes is not None:
            self.store.update(plural, namespace, name, changes)
        return JSONResponse(obj)

    async def _patch(
        self, request: Request, plural: str, namespace: str, name: str
    ) -> JSONResponse:
        denied = self._denied("patch", plural, namespace, name)
        if denied is not None:
            return denied
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        patcher = PATCHERS.get(content_type)
        if patcher is None:
            return status(415, "UnsupportedMediaType", f"the stand-in serves no {content_type!r}")
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return status(400, "BadRequest", f"the patch is not JSON: {exc}")
        with self.store.lock:
            current = self.store.get(plural, namespace, name)
            if current is None:
                return not_found(plural, name)
            wanted_version = (body.get("metadata") or {}).get("resourceVersion")
            if (
                wanted_version is not None
                and wanted_version != current["metadata"]["resourceVersion"]
            ):
                return status(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {_qualified(plural)} "{name}": the object '
                    "has been modified; please apply your changes to the latest version and "
                    "try again",
                    name=name,
                    kind=plural,
                )
            try:
                updated = patcher(current, body)
            except ValueError as exc:
                return status(422, "Invalid", f"{_qualified(plural)} {name!r} is invalid: {exc}")
            updated["metadata"].update(
                name=name, resourceVersion=current["metadata"]["resourceVersion"]
            )
            if namespace:
                updated["metadata"]["namespace"] = namespace
            if updated == current:
                # A patch that changes nothing stores nothing and keeps the version (as the
                # API server does); it still counts as a write request received.
                if not _dry_run(request):
                    self.store.store(plural, namespace, current, "patch")
                return JSONResponse(current)
            if updated.get("spec") != current.get("spec"):
                updated["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            if _dry_run(request):
                return JSONResponse(updated)
            updated["metadata"]["resourceVersion"] = self.store.next_version()
            self.store.store(plural, namespace, updated, "patch")
        return JSONResponse(updated)

    def _delete(self, request: Request, plural: str, namespace: str, name: str) -> JSONResponse:
        denied = self._denied("delete", plural, namespace, name)
        if denied is not None:
            return denied
        obj = self.store.get(plural, namespace, name)
        if obj is None:
            return not_found(plural, name)
        if not _dry_run(request):
            self.store.remove(plural, namespace, name)
        return JSONResponse(obj)

    async def review(self, request: Request) -> JSONResponse:
        """``POST selfsubjectaccessreviews``: allowed unless the verb is denied (``access``)."""
        return await review(self.store, request)

    async def evict(self, request: Request) -> JSONResponse:
        """``POST pods/{name}/eviction``: 201, or 429 while a disruption budget forbids it."""
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        self.store.requests.append((request.method, request.url.path, request.url.query))
        denied = self._denied("create", "pods/eviction", namespace, name)
        if denied is not None:
            return denied
        with self.store.lock:
            pod = self.store.get("pods", namespace, name)
            if pod is None:
                return not_found("pods", name)
            labels = pod["metadata"].get("labels") or {}
            for pdb in self.store.items("poddisruptionbudgets", namespace):
                if not match_labels(pdb["spec"].get("selector") or {}, labels):
                    continue
                allowed = (pdb.get("status") or {}).get("disruptionsAllowed", 0)
                if allowed < 1:
                    return status(
                        429,
                        "TooManyRequests",
                        "Cannot evict pod as it would violate the pod's disruption budget.",
                        causes=[
                            {
                                "reason": "DisruptionBudget",
                                "message": f"The disruption budget {pdb['metadata']['name']} "
                                f"needs more healthy pods and has {allowed} disruptions allowed",
                            }
                        ],
                    )
                if not _dry_run(request):
                    pdb_name = pdb["metadata"]["name"]
                    self.store.update(
                        "poddisruptionbudgets",
                        namespace,
                        pdb_name,
                        {"status": {"disruptionsAllowed": allowed - 1}},
                    )
            if not _dry_run(request):
                self.store.remove("pods", namespace, name, verb="create-eviction")
        body = copy.deepcopy(await request.json())
        return JSONResponse(body, status_code=201)


def _dry_run(request: Request) -> bool:
    return request.query_params.get("dryRun") == "All"


def create_kube_app(store: KubeStore) -> Starlette:
    """The ASGI app of the stand-in API server over ``store``."""
    api = KubeApi(store)
    methods = ["GET", "PATCH", "DELETE", "POST", "PUT"]
    routes = [
        Route(REVIEW_PATH, api.review, methods=["POST"]),
        Route("/api/v1/namespaces/{namespace}/pods/{name}/eviction", api.evict, methods=["POST"]),
        Route("/api/v1/namespaces/{namespace}/{plural}/{name}", api.dispatch, methods=methods),
        Route("/api/v1/namespaces/{namespace}/{plural}", api.dispatch, methods=methods),
        Route("/api/v1/{plural}/{name}", api.dispatch, methods=methods),
        Route("/api/v1/{plural}", api.dispatch, methods=methods),
        Route(
            "/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}",
            api.dispatch,
            methods=methods,
        ),
        Route(
            "/apis/{group}/{version}/namespaces/{namespace}/{plural}", api.dispatch, methods=methods
        ),
        Route("/apis/{group}/{version}/{plural}", api.dispatch, methods=methods),
    ]
    return Starlette(routes=routes)
