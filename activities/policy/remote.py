"""The remote policy engine: an OPA server queried through opa-python-client's async client.

The OPA server loads the same policy directory the worker sees (docker-compose mounts
``policies/`` into both). The worker still compiles that directory itself, with regopy and
the policy's own data check, before it trusts it: a bundle that fails is refused with
``file:line`` and the previous one keeps deciding, and the hash recorded with every decision
is the hash of exactly those files.

Every failure to get a well-formed answer (connection refused, timeout, a 5xx, no
``result``) is a deny that says so; the gate never waits on a dead server for long.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opa_client.opa_async import AsyncOpaClient

from activities.policy.bundle import PolicyBundle
from activities.policy.decision import decision_from_document, deny
from activities.policy.engine import (
    BundleHistory,
    PolicyEngine,
    canonical_json,
    gate_input_to_dict,
)
from activities.policy.sandbox import reload_bundle
from activities.policy.types import Decision, GateInput
from api.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

# The gate's decision rule, as opa-python-client addresses it (package path, rule).
PACKAGE = "steward.gate"
RULE = "decision"


def client_for(url: str, *, timeout: float, retries: int, token: str | None) -> AsyncOpaClient:
    """Return an async OPA client for a base URL such as ``http://opa:8181``.

    Raises:
        ValueError: The URL has no host, or a scheme other than http and https.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the OPA URL must be http(s)://host[:port], not {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 8181)
    return AsyncOpaClient(
        host=parts.hostname,
        port=port,
        ssl=parts.scheme == "https",
        token=token,
        timeout=timeout,
        retries=retries,
    )


class RemotePolicyEngine(PolicyEngine):
    """Asks an OPA server for each decision; compiles the same bundle locally to vouch for it."""

    def __init__(
        self,
        url: str,
        policy_dir: Path | None = None,
        *,
        timeout: float = 2.0,
        retries: int = 1,
        token: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        """Compile the local copy of the policy and prepare a client for ``url``.

        ``settings`` (``get_settings()`` when omitted) give the default policy directory and
        the reload sandbox's limits.

        Raises:
            PolicyError: The local policy does not compile.
            ValueError: ``url`` is not an http(s) URL.
        """
        self._settings = settings or get_settings()
        self._bundle = PolicyBundle.load(
            self._settings.policy_dir if policy_dir is None else policy_dir
        )
        self._history = BundleHistory(self._bundle)
        self._dir = self._bundle.directory
        self._reload_lock = threading.Lock()
        self._client = client_for(url, timeout=timeout, retries=retries, token=token)
        self._opened = False
        self.url = url

    @property
    def bundle(self) -> PolicyBundle:
        """The locally compiled bundle the server is expected to serve."""
        return self._bundle

    def reload(self) -> str:
        """Compile the policy directory again and switch to it once it has compiled.

        Like the embedded engine's, the new bundle loads in the sandbox first (see
        :func:`activities.policy.sandbox.reload_bundle`).

        Raises:
            PolicyError: The new policy does not compile or breaks a limit; the old one
                stays active.
        """
        with self._reload_lock:
            fresh = reload_bundle(self._dir, self._settings)
            self._history.add(fresh)
            previous, self._bundle = self._bundle, fresh
        if previous.sha256 != fresh.sha256:
            log.info("policy bundle %s replaces %s (remote)", fresh.sha256, previous.sha256)
        return fresh.sha256

    async def decide(self, gate_input: GateInput) -> Decision:
        """Ask the server; a failed or odd answer is a deny naming what went wrong."""
        bundle = self._bundle
        try:
            text = canonical_json(gate_input_to_dict(gate_input))
        except (TypeError, ValueError) as exc:
            return deny(bundle.sha256, "", "invalid_input", f"invalid input: {exc}")
        in_sha = hashlib.sha256(text.encode()).hexdigest()
        try:
            if not self._opened:
                await self._client.__aenter__()
                self._opened = True
            answer: Any = await self._client.query_rule(json.loads(text), PACKAGE, RULE)
        except Exception as exc:  # aiohttp, timeouts, HTTP errors: none may escape the gate
            detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            log.warning("OPA server %s failed: %s", self.url, detail)
            return deny(bundle.sha256, in_sha, "evaluation_error", f"policy server: {detail}")
        if not isinstance(answer, dict) or "result" not in answer:
            # OPA answers {} when the document is undefined.
            return deny(bundle.sha256, in_sha, "undefined_decision", "undefined decision")
        return decision_from_document(answer["result"], bundle.sha256, in_sha)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._opened:
            await self._client.close_connection()
            self._opened = False
