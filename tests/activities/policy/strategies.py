"""Hypothesis strategies for gate inputs and policy configurations that reach every rule.

Most examples are well formed, so the checks behind validation (freezes, rate limits, the
circuit breaker, blast radius, approvals and escalation) are exercised; a share is broken on
purpose (a field removed or of the wrong type, invalid data) so validation is too. Times are
mostly UTC (the only form the policy accepts), sometimes another offset, a Z or garbage.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from tests.activities.policy import POLICIES

SHIPPED: dict[str, Any] = json.loads((POLICIES / "data.json").read_text())["steward"]["config"]
WINDOWS = ["60", "300", "900", "3600", "86400"]
ACTIONS = ["demo.scale", "demo.restart", "demo.purge_cache", "notify.log"]
SERVICES = ["demo", "billing", "payments"]
PRINCIPALS = ["olga", "pat", "pia", "sam", "ada"]
TIERS = ["info", "warn", "critical"]
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

names = st.sampled_from
small = st.integers(min_value=0, max_value=4)
text = st.text(alphabet="abc xyz-", min_size=0, max_size=8)
# Mostly UTC, the only offset the policy accepts; the others must be invalid input.
offsets = st.sampled_from([UTC] * 6 + [timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))])


@st.composite
def rfc3339(draw: st.DrawFn, around: datetime = NOW, hours: int = 96) -> str:
    """A time near ``around`` with an explicit offset (never Z), sometimes with microseconds."""
    moment = around + timedelta(seconds=draw(st.integers(-hours * 3600, hours * 3600)))
    if draw(st.booleans()):
        moment += timedelta(microseconds=draw(st.integers(0, 999_999)))
    return moment.astimezone(draw(offsets)).isoformat()


@st.composite
def freeze(draw: st.DrawFn) -> dict[str, Any]:
    start = NOW + timedelta(hours=draw(st.integers(-30, 10)))
    end = start + timedelta(hours=draw(st.integers(1, 40)))
    f: dict[str, Any] = {
        "id": draw(text),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "reason": draw(text),
    }
    if draw(st.booleans()):
        f["services"] = draw(st.lists(names(SERVICES), max_size=2))
    if draw(st.booleans()):
        f["tiers"] = draw(st.lists(names(TIERS), max_size=2))
    return f


# A row of the applied facts: action, service, target, tier, then a count per window.
applied_group = st.tuples(
    names(ACTIONS), names(SERVICES), names(SERVICES), names(TIERS), *(small for _ in WINDOWS)
).map(list)
kill_switch_fact = st.sampled_from([None, None, None, None, "set"]).flatmap(
    lambda kind: (
        st.none()
        if kind is None
        else st.fixed_dictionaries(
            {"enabled": st.booleans(), "reason": text, "by": names(PRINCIPALS), "at": rfc3339()}
        )
    )
)
# The catalog's environment and owners of the target: null when it declares none, and
# missing from inputs recorded before the catalog (the policy then reads data.json).
service_fact = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "environment": names(["production", "staging", "default"]),
            "owners": st.lists(names(["payments", "sre", "nobody"]), max_size=2),
        }
    ),
)
# What the actuator read from the target: null, replica counts (which override the
# parameters' in the blast radius), or why it could not read them.
target_fact = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"replicas_total": st.integers(0, 12), "replicas_affected": st.integers(0, 12)}
    ),
    st.just({"error": "the target's facts could not be read: timeout"}),
)
stats = st.fixed_dictionaries(
    {
        "applied": st.lists(applied_group, max_size=4),
        "verified": st.lists(st.sampled_from([1, 1, 1, 0]), max_size=14),
        "kill_switch": kill_switch_fact,
        "freezes": st.lists(freeze(), max_size=1),
    },
    optional={"service": service_fact, "target": target_fact},
)
number = st.one_of(st.integers(-2, 40), st.sampled_from([2.5, 20.5, 0.5]))
parameters = st.fixed_dictionaries(
    {},
    optional={
        "replicas": st.one_of(number, st.just("9")),
        "targets": st.one_of(st.lists(names(SERVICES), max_size=4), st.just("demo")),
        "namespaces": st.lists(names(["a", "b", "c"]), max_size=3),
        "namespace": names(["a", "b"]),
        "replicas_affected": st.one_of(st.integers(0, 8), st.just("3")),
        "replicas_total": st.integers(1, 8),
    },
)
incident = st.fixed_dictionaries(
    {
        "id": text,
        "service": names(SERVICES),
        "signal": text,
        "severity": names(["low", "high"]),
        "opened_by": names(PRINCIPALS),
    }
)
valid_input = st.fixed_dictionaries(
    {
        "action": names(ACTIONS),
        "target": names(SERVICES),
        "tier": names([*TIERS, *TIERS, *TIERS, "galactic"]),
        "parameters": parameters,
        "incident": incident,
        "requester": text,
        "mode": names(["apply", "apply", "apply", "simulate", "simulate", "yolo"]),
        "stats": stats,
        "time": rfc3339(),
        "workflow_id": text,
        "step": st.integers(1, 9),
    }
)
wrong_type = st.sampled_from([7, "x", [], {}, None, True])


@st.composite
def gate_input(draw: st.DrawFn) -> Any:
    """A gate input: mostly well formed, else damaged in one place (or not an object)."""
    doc: dict[str, Any] = draw(valid_input)
    damage = draw(st.sampled_from(["none"] * 12 + ["drop", "retype", "fact", "zulu", "whole"]))
    if damage == "drop":
        del doc[draw(names(sorted(doc)))]
    elif damage == "retype":
        doc[draw(names(sorted(doc)))] = draw(wrong_type)
    elif damage == "fact":
        fact = draw(names(sorted(doc["stats"])))
        if draw(st.booleans()):
            del doc["stats"][fact]
        else:
            doc["stats"][fact] = draw(st.sampled_from([7, "x", {"a": 1}]))
    elif damage == "zulu":
        doc["time"] = draw(st.sampled_from([doc["time"][:19] + "Z", doc["time"][:19], "soon"]))
    elif damage == "whole":
        return draw(wrong_type)
    return doc


@st.composite
def group(draw: st.DrawFn) -> dict[str, Any]:
    """An approver group restricted by roles alone, teams, service owners, or both."""
    g: dict[str, Any] = {
        "roles": draw(st.lists(names(["operator", "admin", "sre"]), min_size=1, max_size=2)),
        "timeout_seconds": draw(st.integers(1, 3600)),
    }
    restrict = draw(names(["roles", "teams", "owners", "both"]))
    if restrict in ("teams", "both"):
        g["teams"] = draw(st.lists(names(["payments", "sre", "nobody"]), min_size=1, max_size=2))
    if restrict in ("owners", "both"):
        g["owners_only"] = True
    elif draw(st.booleans()):
        g["owners_only"] = False
    return g


rate_limit = st.fixed_dictionaries(
    {
        "name": text,
        "window_seconds": st.sampled_from([60, 300, 900, 3600, 86400]),
        "max": st.integers(1, 12),
        "per": names(["all", "service", "target"]),
    },
    optional={
        "actions": st.lists(names(ACTIONS), min_size=1, max_size=2),
        "tiers": st.lists(names(TIERS), min_size=1, max_size=2),
    },
)
blast = st.fixed_dictionaries(
    {},
    optional={
        "max_targets": st.integers(2, 4),
        "max_namespaces": st.integers(1, 2),
        "max_replica_percent": st.sampled_from([25, 50, 100]),
    },
)


@st.composite
def config(draw: st.DrawFn) -> dict[str, Any]:
    """A valid policy configuration near the shipped one."""
    d: dict[str, Any] = json.loads(json.dumps(SHIPPED))
    d["kill_switch"] = {
        "enabled": draw(st.sampled_from([False] * 9 + [True])),
        "reason": draw(text),
    }
    d["freezes"] = draw(st.lists(freeze(), max_size=1))
    d["services"] = {
        s: {
            "environment": draw(names(["staging", "production", "lab"])),
            "owners": draw(st.lists(names(["payments", "sre"]), max_size=2)),
        }
        for s in SERVICES
    }
    d["teams"] = {"payments": ["pat", "pia", "olga"], "sre": draw(st.lists(names(PRINCIPALS)))}
    d["approval"] = {**draw(group()), "quorum": draw(st.integers(1, 4))}
    d["approval"]["escalation"] = draw(st.lists(group(), max_size=2))
    d["rate_limits"] = draw(st.lists(rate_limit, max_size=3))
    d["circuit_breaker"] = {
        "runs": draw(st.integers(1, 12)),
        "min_runs": draw(st.integers(1, 6)),
        "threshold_percent": draw(st.sampled_from([50, 80, 100])),
        "open": draw(names(["approval", "deny"])),
    }
    d["blast_radius"] = {**draw(blast), "actions": {"demo.restart": draw(blast)}}
    # Per-action approval on an action that is warn by tier, either way.
    d["actions"] = {"demo.scale": {"approval": draw(st.booleans())}}
    return d


BREAKAGE: dict[str, tuple[str, Any]] = {
    "quorum": ("approval", {"quorum": 0, "roles": ["operator"], "timeout_seconds": 60}),
    "tier": ("tiers", {"info": {}}),
    "window": ("rate_limits", [{"name": "x", "window_seconds": 61, "max": 1, "per": "all"}]),
    "freeze": ("freezes", [{"start": "tomorrow", "end": "later", "reason": "r"}]),
    "breaker": ("circuit_breaker", {"runs": 1}),
    "switch": ("kill_switch", "on"),
    "tiers": ("tiers", ["info"]),
    "approval": ("approval", "four eyes"),
    "limits": ("limits", "none"),
    "bound": ("limits", {"demo.scale": {"max_replicas": 20, "min_replicas": "1"}}),
    "env": ("environments", {"production": {"approval": {"quorum": -1}}}),
    "team": ("teams", {"sre": "sam"}),
    "action": ("actions", {"demo.scale": {"approval": "yes"}}),
}


DAMAGE = [*BREAKAGE, "drop", "whole"]


@st.composite
def damaged_config(draw: st.DrawFn, broken: str) -> Any:
    """A configuration the policy must call invalid: one part broken, one missing, or all.

    Args:
        draw: Hypothesis' draw.
        broken: One of :data:`DAMAGE`.
    """
    d: dict[str, Any] = draw(config())
    if broken == "whole":
        return [d]
    if broken == "drop":
        # Limits and per-action settings are optional: without them the data is still valid.
        del d[draw(names(sorted(set(d) - {"limits", "actions"})))]
    else:
        key, value = BREAKAGE[broken]
        d[key] = value
    return d


# Approval groups restricted by listed teams and ownership together, by ownership alone,
# and by teams alone, all on one approval path: random configurations reach approvals
# with each kind of group too rarely to rely on.
RESTART: dict[str, Any] = {
    "action": "demo.restart",
    "target": "demo",
    "tier": "critical",
    "parameters": {},
    "incident": {
        "id": "i",
        "service": "demo",
        "signal": "s",
        "severity": "high",
        "opened_by": "ada",
    },
    "requester": "r",
    "mode": "apply",
    "stats": {"applied": [], "verified": [], "kill_switch": None, "freezes": []},
    "time": NOW.isoformat(),
    "workflow_id": "w",
    "step": 1,
}
EVERY_KIND_OF_GROUP: dict[str, Any] = {
    **SHIPPED,
    "services": {"demo": {"environment": "staging", "owners": ["sre", "payments"]}},
    "teams": {"payments": ["pat", "pia"], "sre": ["sam"]},
    "approval": {
        "quorum": 1,
        "roles": ["operator"],
        "timeout_seconds": 60,
        "teams": ["sre"],
        "owners_only": True,
        "escalation": [
            {"roles": ["admin"], "timeout_seconds": 60, "owners_only": True},
            {"roles": ["admin"], "timeout_seconds": 60, "teams": ["payments"]},
        ],
    },
}
UNMEETABLE: dict[str, Any] = {
    **EVERY_KIND_OF_GROUP,
    "approval": {**EVERY_KIND_OF_GROUP["approval"], "quorum": 4},
}
THIRD_OF_THE_REPLICAS: dict[str, Any] = {
    **RESTART,
    "tier": "warn",
    "parameters": {"replicas_affected": 3, "replicas_total": 9, "targets": "demo"},
}
# The playbook claims 1 of 8; the target reports 6 of 8: the observed facts decide.
OBSERVED_REPLICAS: dict[str, Any] = {
    **THIRD_OF_THE_REPLICAS,
    "parameters": {"replicas_affected": 1, "replicas_total": 8},
    "stats": {**RESTART["stats"], "target": {"replicas_affected": 6, "replicas_total": 8}},
}
# Over the shipped replica limit, for a target the catalog declares: reaches the parameter
# limits and the catalog's service fact whatever the generated examples happen to be.
TOO_MANY_REPLICAS: dict[str, Any] = {
    **RESTART,
    "action": "demo.scale",
    "tier": "warn",
    "parameters": {"replicas": 40},
    "stats": {**RESTART["stats"], "service": {"environment": "production", "owners": ["sre"]}},
}
# The kill switch on with no reason given: the reason falls back to a stock text.
KILLED_WITHOUT_REASON: dict[str, Any] = {**SHIPPED, "kill_switch": {"enabled": True, "reason": ""}}
