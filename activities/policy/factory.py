"""Choose the policy engine from settings (``STEWARD_POLICY_ENGINE``)."""

from __future__ import annotations

from activities.policy.engine import EmbeddedPolicyEngine, PolicyEngine
from activities.policy.remote import RemotePolicyEngine
from api.core.settings import Settings


def make_policy_engine(settings: Settings) -> PolicyEngine:
    """Return the embedded engine, or the OPA server one when settings say ``remote``.

    Raises:
        PolicyError: The policy directory does not compile.
        ValueError: ``opa_url`` is not an http(s) URL.
    """
    if settings.policy_engine == "remote":
        return RemotePolicyEngine(
            settings.opa_url,
            settings.policy_dir,
            timeout=settings.opa_timeout_seconds,
            retries=settings.opa_retries,
            token=settings.opa_token,
            settings=settings,
        )
    return EmbeddedPolicyEngine(settings.policy_dir, settings=settings)
