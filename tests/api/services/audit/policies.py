"""Small, self-contained Rego bundles for audit tests (independent of the shipped policy)."""

from __future__ import annotations

from pathlib import Path

ALLOW = '{"outcome": "allow", "reasons": [], "approval": null, "rules": ["test_allow"]}'
APPROVAL = (
    '{"outcome": "approval_required", "reasons": ["%s"], "rules": ["%s"], '
    '"approval": {"quorum": 1, "roles": ["operator"], "timeout_seconds": 600}}'
)
DENY = '{"outcome": "deny", "reasons": ["%s"], "approval": null, "rules": ["%s"]}'


def bundle(folder: Path, condition: str, decision: str) -> Path:
    """Write a bundle that decides ``decision`` when ``condition`` holds, else allows."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gate.rego").write_text(
        "package steward.gate\n\n"
        f"default decision := {ALLOW}\n\n"
        f"decision := {decision} if {{\n\t{condition}\n}}\n"
    )
    return folder


def undo_needs_approval(folder: Path) -> Path:
    """Allow every action, except that undo steps need an operator."""
    return bundle(
        folder,
        'input.requester == "undo"',
        APPROVAL % ("undo needs an operator", "test_undo_approval"),
    )


def scaling_denied(folder: Path) -> Path:
    """Deny every scale."""
    return bundle(folder, 'input.action == "demo.scale"', DENY % ("no scaling", "test_no_scale"))


def warn_needs_approval(folder: Path) -> Path:
    """Warn-tier actions need an operator."""
    return bundle(
        folder, 'input.tier == "warn"', APPROVAL % ("warn needs approval", "test_warn_approval")
    )


def restart_denied(folder: Path) -> Path:
    """Deny every restart."""
    return bundle(
        folder, 'input.action == "demo.restart"', DENY % ("no restarts", "test_no_restart")
    )
