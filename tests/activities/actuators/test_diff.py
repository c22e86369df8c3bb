"""The field diff an approval request shows."""

from __future__ import annotations

from activities.actuators.diff import MAX_CHANGES, field_changes


def test_nested_fields_are_compared_one_by_one_and_lists_by_name_or_position() -> None:
    before = {"spec": {"replicas": 3, "ports": [80], "containers": [{"name": "app", "cpu": 1}]}}
    after = {"spec": {"replicas": 8, "ports": [80, 443], "containers": [{"name": "app", "cpu": 2}]}}
    assert field_changes(before, after) == [
        {"path": "spec.containers[app].cpu", "before": 1, "after": 2},
        {"path": "spec.ports[1]", "before": None, "after": 443},
        {"path": "spec.replicas", "before": 3, "after": 8},
    ]
    assert field_changes(before, after, ignore={"spec.ports", "spec.containers"}) == [
        {"path": "spec.replicas", "before": 3, "after": 8},
    ]


def test_a_field_on_one_side_only_is_unset_on_the_other() -> None:
    assert field_changes({"flags": {}}, {"flags": {"safe_mode": True}}, prefix="state") == [
        {"path": "state.flags.safe_mode", "before": None, "after": True}
    ]
    assert field_changes({"a": 1}, {"a": 1}) == []


def test_a_large_diff_is_cut() -> None:
    before = {f"k{i:03}": i for i in range(200)}
    assert len(field_changes(before, {})) == MAX_CHANGES
