"""A real HTTP server speaking OPA's REST data API, on top of the real OPA engine.

Stands in for the ``openpolicyagent/opa`` container (no Docker engine here): it loads a
policy directory into the in-process OPA engine (OPA v1.20 through
``opa-golib-python-bindings``) and answers like ``opa run --server`` does:

- ``POST /v1/data/<path>`` with ``{"input": ...}`` -> ``{"result": ...}``, or ``{}`` when the
  document is undefined;
- ``GET /v1/data/<path>`` the same without input;
- ``GET /health`` -> ``{}``;
- evaluation errors -> 500 ``{"code": "internal_error", "message": ...}``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from activities.policy.opa_local import OpaPolicy

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class OpaServerState:
    """What the server serves, and how many decisions it answered (for tests)."""

    def __init__(self, policy_dir: Path) -> None:
        self.policy = OpaPolicy(policy_dir)
        if self.policy.problems:
            raise ValueError(f"the policy does not compile: {self.policy.problems}")
        self.requests = 0


def create_opa_app(policy_dir: Path) -> FastAPI:
    """Build the server for ``policy_dir`` (``data.json`` and every non-test module)."""
    app = FastAPI()
    state = OpaServerState(policy_dir)
    app.state.opa = state

    def evaluate(path: str, input_doc: Any) -> JSONResponse:
        segments = [s for s in path.split("/") if s]
        if not all(_SEGMENT.match(s) for s in segments):
            return JSONResponse({"code": "invalid_parameter", "message": path}, status_code=400)
        ref = ".".join(["data", *segments])
        state.requests += 1
        try:
            rows = state.policy.query(f"x := {ref}", input_doc)
        except Exception as exc:  # noqa: BLE001 - OPA answers every evaluation error with 500
            return JSONResponse({"code": "internal_error", "message": str(exc)}, status_code=500)
        return JSONResponse({"result": rows[0]["x"]} if rows else {})

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {}

    @app.post("/v1/data/{path:path}")
    async def post_data(path: str, request: Request) -> JSONResponse:
        body = await request.json() if await request.body() else {}
        if not isinstance(body, dict):
            return JSONResponse({"code": "invalid_parameter", "message": "body"}, status_code=400)
        return evaluate(path, body.get("input"))

    @app.get("/v1/data/{path:path}")
    def get_data(path: str) -> JSONResponse:
        return evaluate(path, None)

    return app
