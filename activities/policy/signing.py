"""Sign and check the authorizations that let an actuator activity run.

An :class:`Authorization` binds one decision to one workflow, step, actuator and
parameter set. The HMAC covers every bound field, so changing any of them — or
presenting an authorization from another workflow — fails verification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, replace
from typing import Any

from activities.policy.types import Authorization


class AuthorizationError(Exception):
    """An authorization is missing, forged, or bound to something else."""


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text used for every hash in Steward."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def params_sha256(params: dict[str, Any]) -> str:
    """Return the SHA-256 of canonical JSON parameters."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


class DecisionSigner:
    """Signs authorizations with a shared secret and verifies them."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the signing key must be at least 16 bytes")
        self._key = key

    def _mac(self, auth: Authorization) -> str:
        body = asdict(replace(auth, signature=""))
        return hmac.new(self._key, canonical_json(body).encode(), hashlib.sha256).hexdigest()

    def sign(self, auth: Authorization) -> Authorization:
        """Return ``auth`` with its signature filled in."""
        return replace(auth, signature=self._mac(auth))

    def verify(
        self,
        auth: Authorization | None,
        *,
        workflow_id: str,
        step: int,
        actuator: str,
        params: dict[str, Any],
    ) -> None:
        """Check that ``auth`` is genuine and bound to exactly this call.

        Raises:
            AuthorizationError: naming the first thing that does not match.
        """
        if auth is None:
            raise AuthorizationError("no policy decision was presented")
        if not auth.signature or not hmac.compare_digest(auth.signature, self._mac(auth)):
            raise AuthorizationError("the decision's signature is invalid")
        expected = {
            "workflow_id": workflow_id,
            "step": step,
            "actuator": actuator,
            "params_sha256": params_sha256(params),
        }
        for name, value in expected.items():
            if getattr(auth, name) != value:
                raise AuthorizationError(
                    f"the decision is bound to another {name.replace('_', ' ')}"
                )
