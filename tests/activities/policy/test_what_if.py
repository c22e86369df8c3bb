"""What-if engines for archived bundles, including ones from before applied facts were rows."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine

from activities.policy.bundle import bundle_sha256
from activities.policy.check import sample_input
from activities.policy.what_if import AppliedObjectsEngine, WhatIfEngines
from api.ledger.store import archive_bundle
from tests.activities.policy import POLICIES

# What an archived bundle from before rows looked like to the gate: it reads each applied
# group's counts by window and calls anything else invalid input.
OBJECT_FACTS_POLICY = """package steward.gate

decision := {"outcome": "allow", "reasons": [], "approval": null, "rules": ["tier_allow"]} if {
	every g in input.stats.applied {
		is_number(g.counts["3600"])
	}
} else := {
	"outcome": "deny",
	"reasons": ["invalid input: stats.applied"],
	"approval": null,
	"rules": ["invalid_input"],
}
"""


def archive(db: Engine, files: dict[str, str]) -> str:
    sha = bundle_sha256({name: text.encode() for name, text in files.items()})
    archive_bundle(db, sha, files)
    return sha


async def test_a_bundle_from_before_rows_gets_applied_facts_as_objects(db_engine: Engine) -> None:
    sha = archive(db_engine, {"steward/gate/gate.rego": OBJECT_FACTS_POLICY})
    engines = WhatIfEngines(db_engine)  # each bundle decides in a sandbox process
    what_if = engines.get(sha)
    assert isinstance(what_if, AppliedObjectsEngine)
    gate_input = sample_input()
    stats = dict(gate_input.stats)
    stats["applied"] = [["demo.restart", "demo", "demo", "critical", 0, 1, 2, 3, 4]]
    decision = await what_if.decide(dataclasses.replace(gate_input, stats=stats))
    engines.close()
    assert (decision.outcome, decision.rules) == ("allow", ["tier_allow"])
    assert decision.bundle_sha256 == sha


async def test_a_bundle_reading_rows_decides_unchanged(db_engine: Engine) -> None:
    files = {
        path.relative_to(POLICIES).as_posix(): path.read_text()
        for path in POLICIES.rglob("*")
        if path.is_file() and not path.name.endswith("_test.rego")
    }
    engines = WhatIfEngines(db_engine)
    what_if = engines.get(archive(db_engine, files))
    assert not isinstance(what_if, AppliedObjectsEngine)
    decision = await what_if.decide(sample_input())
    engines.close()
    assert decision.outcome == "allow"
