"""The shipped RBAC manifest grants exactly the declared Kubernetes permissions.

``deploy/kubernetes/steward-rbac.yaml`` is written by hand for people to read; this test holds
it to ``activities.actuators.kubernetes.permissions``: the cluster-wide role has the ``cluster``
permissions, the per-namespace role the ``namespace`` ones, verb for verb, no more, no less,
and each is bound to Steward's service account the way its scope needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from activities.actuators.kubernetes.permissions import PERMISSIONS, atoms

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "steward-rbac.yaml"
# Which ClusterRole holds which scope, and the binding kind that grants it.
ROLES = {
    "steward-cluster": ("cluster", "ClusterRoleBinding"),
    "steward-namespaced": ("namespace", "RoleBinding"),
}
ACCOUNT = {"kind": "ServiceAccount", "name": "steward", "namespace": "steward"}


def documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]


def granted(role: dict[str, Any], scope: str) -> set[tuple[str, str, str, str]]:
    found = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    found.add((scope, group, resource, verb))
    return found


def test_the_roles_grant_exactly_the_declared_permissions() -> None:
    docs = documents()
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert set(roles) == set(ROLES)
    assert all(d["kind"] == "ClusterRole" for d in roles.values())
    rules = set().union(*(granted(roles[name], scope) for name, (scope, _) in ROLES.items()))
    declared = atoms(p for permissions in PERMISSIONS.values() for p in permissions)
    assert rules == declared
    assert not any("*" in atom for atom in rules)


def test_the_service_account_is_bound_to_each_role_at_its_scope() -> None:
    docs = documents()
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert [{"kind": "ServiceAccount", **a["metadata"]} for a in accounts] == [ACCOUNT]
    bindings = [d for d in docs if d["kind"].endswith("Binding")]
    assert {(b["kind"], b["roleRef"]["name"]) for b in bindings} == {
        (kind, name) for name, (_, kind) in ROLES.items()
    }
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "ClusterRole"
        assert binding["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
        assert binding["subjects"] == [ACCOUNT]
        # A RoleBinding grants its ClusterRole in its own namespace only.
        assert ("namespace" in binding["metadata"]) == (binding["kind"] == "RoleBinding")
