package steward.gate_test

import data.steward.gate

# Tests call gate.decide with literal input and data rather than using `with`, which can
# crash regopy.

_incident := {
	"id": "inc-1",
	"service": "demo",
	"signal": "error_rate",
	"severity": "critical",
	"opened_by": "detector.error_rate",
}

_input := {
	"action": "demo.scale",
	"target": "demo",
	"tier": "info",
	"parameters": {"replicas": 3},
	"incident": _incident,
	"requester": "ScaleOutPlaybook",
	"mode": "apply",
	"stats": {"recent_actions": 0},
	"time": "2024-05-01T12:00:00",
	"workflow_id": "wf-1",
	"step": 1,
}

_data := {
	"kill_switch": {"enabled": false, "reason": ""},
	"tiers": {
		"info": {"approval": false},
		"warn": {"approval": false},
		"critical": {"approval": true},
	},
	"approval": {"quorum": 2, "roles": ["operator", "sre"], "timeout_seconds": 600},
	"limits": {"demo.scale": {"max_replicas": 20, "min_replicas": 1}},
}

_killed := _data_with({"kill_switch": {"enabled": true, "reason": "incident review"}})

_allow := {"outcome": "allow", "reasons": [], "approval": null, "rules": ["tier_allow"]}

# Top-level keys are replaced whole: OPA's object.union merges nested objects while
# regopy's replaces them, and the tests must mean the same thing on both.
_input_with(changes) := object.union(object.remove(_input, object.keys(changes)), changes)

_data_with(changes) := object.union(object.remove(_data, object.keys(changes)), changes)

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
		"approval": {"quorum": 2, "roles": ["operator", "sre"], "timeout_seconds": 600},
		"rules": ["tier_approval"],
	}
}

test_kill_switch_denies_every_tier if {
	every tier in ["info", "warn", "critical"] {
		gate.decide(_input_with({"tier": tier}), _killed) == {
			"outcome": "deny",
			"reasons": ["kill switch: incident review"],
			"approval": null,
			"rules": ["kill_switch"],
		}
	}
}

test_kill_switch_without_reason_still_denies if {
	d := gate.decide(_input, _data_with({"kill_switch": {"enabled": true, "reason": ""}}))
	d.outcome == "deny"
	d.reasons == ["kill switch: no reason given"]
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

test_missing_field_is_denied if {
	every field in object.keys(_input) {
		d := gate.decide(object.remove(_input, [field]), _data)
		d.outcome == "deny"
		concat("", ["invalid input: ", field]) in d.reasons
	}
}

test_string_field_of_wrong_type_is_denied if {
	every field in ["action", "target", "tier", "requester", "mode", "time", "workflow_id"] {
		d := _decide({field: 7})
		d.outcome == "deny"
		concat("", ["invalid input: ", field]) in d.reasons
	}
}

test_object_field_of_wrong_type_is_denied if {
	every field in ["parameters", "stats", "incident"] {
		d := _decide({field: "oops"})
		d.outcome == "deny"
		concat("", ["invalid input: ", field]) in d.reasons
	}
}

test_step_must_be_a_number if {
	d := _decide({"step": "1"})
	d.outcome == "deny"
	d.reasons == ["invalid input: step"]
}

test_incident_fields_are_validated if {
	every field in object.keys(_incident) {
		d := gate.decide(_input_with({"incident": object.remove(_incident, [field])}), _data)
		d.outcome == "deny"
		d.reasons == [concat("", ["invalid input: incident.", field])]
	}
}

test_non_object_input_is_denied if {
	d := gate.decide("demo.scale", _data)
	d.outcome == "deny"
	"invalid input: not an object" in d.reasons
}

test_replicas_over_the_limit_are_denied if {
	d := _decide({"parameters": {"replicas": 21}})
	d.outcome == "deny"
	d.reasons == ["replicas 21 exceeds the limit 20"]
	d.rules == ["parameter_limit"]
}

test_replicas_at_the_limit_are_allowed if {
	_decide({"parameters": {"replicas": 20}}) == _allow
}

test_replicas_below_the_minimum_are_denied if {
	d := _decide({"parameters": {"replicas": 0}})
	d.outcome == "deny"
	d.reasons == ["replicas 0 is below the minimum 1"]
}

test_non_numeric_bounded_parameter_is_denied if {
	d := _decide({"parameters": {"replicas": "50"}})
	d.outcome == "deny"
	d.reasons == ["replicas must be a number"]
}

test_limits_apply_only_to_their_action if {
	_decide({"action": "demo.restart", "parameters": {"replicas": 500}}) == _allow
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

test_malformed_data_is_denied if {
	bad := [
		[{"kill_switch": {"enabled": "yes"}}, ["invalid data: kill_switch.enabled"]],
		[{"tiers": {"info": {"approval": "no"}}}, ["invalid data: tiers.info.approval"]],
		[{"tiers": ["info"]}, ["invalid data: tiers"]],
		[{"approval": {"quorum": 0, "roles": ["operator"], "timeout_seconds": 60}}, ["invalid data: approval.quorum"]],
		[{"approval": {"quorum": 1.5, "roles": ["operator"], "timeout_seconds": 60}}, ["invalid data: approval.quorum"]],
		[{"approval": {"quorum": 1, "roles": [], "timeout_seconds": 60}}, ["invalid data: approval.roles"]],
		[{"approval": {"quorum": 1, "roles": [7], "timeout_seconds": 60}}, ["invalid data: approval.roles"]],
		[{"approval": {"quorum": 1, "roles": ["operator"], "timeout_seconds": "1h"}}, ["invalid data: approval.timeout_seconds"]],
		[{"limits": {"demo.scale": {"max_replicas": "20"}}}, ["invalid data: limits.demo.scale.max_replicas"]],
		[{"limits": {"demo.scale": {"replicas": 20}}}, ["invalid data: limits.demo.scale.replicas"]],
	]
	every case in bad {
		d := gate.decide(_input, _data_with(case[0]))
		d.outcome == "deny"
		d.reasons == case[1]
	}
}

test_empty_data_is_denied if {
	d := gate.decide(_input, {})
	d.outcome == "deny"
	d.reasons == ["invalid data: approval", "invalid data: kill_switch", "invalid data: tiers"]
}

test_limits_are_optional if {
	gate.decide(_input, object.remove(_data, ["limits"])) == _allow
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

test_shipped_data_allows_info_and_gates_critical if {
	gate.decide(_input, gate.config).outcome == "allow"
	gate.decide(_input_with({"tier": "critical"}), gate.config).outcome == "approval_required"
}
