"""The permission matrix: which role may do what. Every API route names one permission.

The matrix is declared here and nowhere else. Routes declare the permission they need with
``api.http.deps.allow``; ``api.http.deps.guarded`` refuses to include a router with a route that
names none, and the access-control test checks every operation of the OpenAPI schema.

Who may approve a given action is not decided here: the approval route is open to every role
and the policy gate's eligible roles decide (see ``workflows.approval_state``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    """Roles an API key (and an approver) can hold."""

    OPERATOR = "operator"
    ENGINEER = "engineer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    """Something a caller may be allowed to do."""

    CATALOG_READ = "catalog:read"
    INCIDENTS_READ = "incidents:read"
    INCIDENTS_OPEN = "incidents:open"
    APPROVALS_READ = "approvals:read"
    # Granted to every role: policy decides who is eligible for each approval.
    APPROVALS_DECIDE = "approvals:decide"
    REFUSALS_READ = "refusals:read"
    KEYS_MANAGE = "keys:manage"
    SLACK_MANAGE = "slack:manage"
    # The kill switch, change freezes and policy reloads (admins).
    POLICY_MANAGE = "policy:manage"
    # Scheduled monitors: every role reads them; engineers and admins create, change, pause,
    # resume, run and delete them (a monitor opens incidents on its own).
    MONITORS_READ = "monitors:read"
    MONITORS_MANAGE = "monitors:manage"
    # Pushing signals: events, Alertmanager webhooks, webhook-delivery attempts. Firing alerts
    # open incidents, so only roles that may open incidents may push them.
    SIGNALS_INGEST = "signals:ingest"
    # Webhook-delivery triage and the replay advisor (read-only).
    DELIVERIES_READ = "deliveries:read"
    # Sweeping incident rows whose run has ended (admins): report and repair.
    INCIDENTS_SWEEP = "incidents:sweep"


# Routes that take no API key, with why. Slack's routes authenticate by request signature.
PUBLIC = "public"

_EVERY_ROLE_READS = {
    Permission.CATALOG_READ,
    Permission.INCIDENTS_READ,
    Permission.APPROVALS_READ,
    Permission.APPROVALS_DECIDE,
    Permission.MONITORS_READ,
    Permission.DELIVERIES_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset({*_EVERY_ROLE_READS, Permission.INCIDENTS_OPEN}),
    Role.ENGINEER: frozenset(
        {
            *_EVERY_ROLE_READS,
            Permission.INCIDENTS_OPEN,
            Permission.SIGNALS_INGEST,
            Permission.MONITORS_MANAGE,
        }
    ),
    Role.AUDITOR: frozenset({*_EVERY_ROLE_READS, Permission.REFUSALS_READ}),
    Role.ADMIN: frozenset(Permission),
}


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """Return every permission the given role names grant; unknown names grant nothing."""
    granted: set[Permission] = set()
    known = {role.value: role for role in Role}
    for name in roles:
        role = known.get(name)
        if role is not None:
            granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def roles_with(permission: Permission) -> list[str]:
    """Return the sorted names of the roles that grant ``permission``."""
    return sorted(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
