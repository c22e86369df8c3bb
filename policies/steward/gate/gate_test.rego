package steward.gate_test

import data.steward.gate

# Tests call gate.decide with literal input and data rather than using `with`, which can
# crash regopy. The helpers here are shared by every *_test.rego of this package.

_incident := {
	"id": "inc-1",
	"service": "demo",
	"signal": "error_rate",
	"severity": "critical",
	"opened_by": "olga",
}

_counts(n) := {"60": n, "300": n, "900": n, "3600": n, "86400": n}

_stats := {"applied": [], "verified": [], "kill_switch": null, "freezes": []}

_input := {
	"action": "demo.scale",
	"target": "demo",
	"tier": "info",
	"parameters": {"replicas": 3},
	"incident": _incident,
	"requester": "ScaleOutPlaybook",
	"mode": "apply",
	"stats": _stats,
	"time": "2024-05-01T12:00:00+00:00",
	"workflow_id": "wf-1",
	"step": 1,
}

_approval := {"quorum": 2, "roles": ["operator", "sre"], "timeout_seconds": 600}

_data := {
	"kill_switch": {"enabled": false, "reason": ""},
	"freezes": [],
	"tiers": {
		"info": {"approval": false},
		"warn": {"approval": false},
		"critical": {"approval": true},
	},
	"environments": {"production": {"tiers": {"warn": {"approval": true}}}},
	"services": {"demo": {"environment": "staging", "owners": ["payments"]}},
	"teams": {"payments": ["pat", "pia", "olga"], "sre": ["sam"]},
	"approval": _approval,
	"rate_limits": [],
	"circuit_breaker": {"runs": 10, "min_runs": 5, "threshold_percent": 80, "open": "approval"},
	"blast_radius": {},
	"limits": {"demo.scale": {"max_replicas": 20, "min_replicas": 1}},
}

_killed := _data_with({"kill_switch": {"enabled": true, "reason": "incident review"}})

_allow := {"outcome": "allow", "reasons": [], "approval": null, "rules": ["tier_allow"]}

# Top-level keys are replaced whole: OPA's object.union merges nested objects while
# regopy's replaces them, and the tests must mean the same thing on both.
_input_with(changes) := object.union(object.remove(_input, object.keys(changes)), changes)

_data_with(changes) := object.union(object.remove(_data, object.keys(changes)), changes)

_stats_with(changes) := object.union(object.remove(_stats, object.keys(changes)), changes)

_decide(changes) := gate.decide(_input_with(changes), _data)

test_info_tier_is_allowed if {
	_decide({"tier": "info"}) == _allow
}

test_warn_tier_is_allowed if {
	_decide({"tier": "warn"}) == _allow
}

test_simulate_mode_is_allowed if {
	_decide({"mode": "simulate"}) == _allow
}

test_critical_tier_requires_approval if {
	_decide({"tier": "critical"}) == {
		"outcome": "approval_required",
		"reasons": ["tier critical requires approval"],
		"approval": {
			"quorum": 2,
			"roles": ["operator", "sre"],
			"teams": [],
			"principals": null,
			"excluded_principals": ["olga"],
			"timeout_seconds": 600,
			"escalation": [],
		},
		"rules": ["tier_approval"],
	}
}

test_unknown_tier_is_denied if {
	d := _decide({"tier": "extreme"})
	d.outcome == "deny"
	d.reasons == ["unknown tier: extreme"]
	d.rules == ["unknown_tier"]
}

test_unknown_mode_is_denied if {
	d := _decide({"mode": "yolo"})
	d.outcome == "deny"
	d.reasons == ["unknown mode: yolo"]
}

test_deny_beats_approval if {
	d := gate.decide(_input_with({"tier": "critical"}), _killed)
	d.outcome == "deny"
	d.approval == null
	d.rules == ["kill_switch"]
}

test_deny_reasons_are_combined_and_sorted if {
	d := gate.decide(_input_with({"tier": "critical", "parameters": {"replicas": 99}}), _killed)
	d.outcome == "deny"
	d.reasons == ["kill switch: incident review", "replicas 99 exceeds the limit 20"]
	d.rules == ["kill_switch", "parameter_limit"]
}

test_approval_reasons_are_combined if {
	failing := _stats_with({"verified": [0, 0, 0, 0, 0]})
	d := _decide({"tier": "critical", "stats": failing})
	d.outcome == "approval_required"
	d.rules == ["circuit_breaker", "tier_approval"]
	count(d.reasons) == 2
}

test_tier_without_approval_flag_is_denied if {
	d := gate.decide(_input, _data_with({"tiers": {"info": {}}}))
	d.outcome == "deny"
	d.reasons == ["invalid data: tiers.info.approval"]
}

# No input is set while tests run, so this exercises the default decision.
test_decision_without_input_is_denied if {
	gate.decision.outcome == "deny"
}

test_shipped_data_is_valid if {
	gate.data_problems == []
}

test_shipped_data_allows_warn_and_gates_critical_in_staging if {
	gate.decide(_input_with({"tier": "warn"}), gate.config).outcome == "allow"
	d := gate.decide(_input_with({"tier": "critical"}), gate.config)
	d.outcome == "approval_required"
	d.approval.quorum == 1
	d.approval.excluded_principals == ["olga"]
	count(d.approval.escalation) == 1
}

test_shipped_data_limits_restarts if {
	restarts := [["demo.restart", "demo", "demo", "critical", 3, 3, 3, 3, 3]]
	d := gate.decide(
		_input_with({
			"action": "demo.restart", "tier": "critical", "parameters": {},
			"stats": _stats_with({"applied": restarts}),
		}),
		gate.config,
	)
	d.outcome == "deny"
	d.rules == ["rate_limit"]
}
