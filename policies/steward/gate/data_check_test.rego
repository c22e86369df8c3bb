package steward.gate_test

import data.steward.gate

test_malformed_data_is_denied if {
	bad := [
		[{"kill_switch": {"enabled": "yes"}}, ["invalid data: kill_switch.enabled"]],
		[{"tiers": {"info": {"approval": "no"}}}, ["invalid data: tiers.info.approval"]],
		[{"tiers": ["info"]}, ["invalid data: tiers"]],
		[{"approval": object.union(_approval, {"quorum": 0})}, ["invalid data: approval.quorum"]],
		[{"approval": object.union(_approval, {"quorum": 1.5})}, ["invalid data: approval.quorum"]],
		[{"approval": object.union(_approval, {"roles": []})}, ["invalid data: approval.roles"]],
		[{"approval": object.union(_approval, {"roles": [7]})}, ["invalid data: approval.roles"]],
		[{"approval": object.union(_approval, {"timeout_seconds": "1h"})}, ["invalid data: approval.timeout_seconds"]],
		[{"approval": object.union(_approval, {"teams": "sre"})}, ["invalid data: approval.teams"]],
		[{"approval": object.union(_approval, {"owners_only": "yes"})}, ["invalid data: approval.owners_only"]],
		[{"approval": object.union(_approval, {"escalation": [{"roles": ["admin"]}]})}, ["invalid data: approval.escalation"]],
		[{"limits": {"demo.scale": {"max_replicas": "20"}}}, ["invalid data: limits.demo.scale.max_replicas"]],
		[{"limits": {"demo.scale": {"replicas": 20}}}, ["invalid data: limits.demo.scale.replicas"]],
		[{"freezes": [{"start": "tomorrow", "end": "2024-05-02T00:00:00+00:00", "reason": "r"}]}, ["invalid data: freezes"]],
		[{"freezes": [{"start": "2024-13-01T00:00:00+00:00", "end": "2024-05-02T00:00:00+00:00", "reason": "r"}]}, ["invalid data: freezes"]],
		[{"environments": {"production": {"tiers": {"warn": {"approval": 1}}}}}, ["invalid data: environments.production"]],
		[{"environments": {"production": {"approval": {"quorum": 0}}}}, ["invalid data: environments.production"]],
		[{"services": {"demo": {"owners": "payments"}}}, ["invalid data: services.demo"]],
		[{"teams": {"payments": "pat"}}, ["invalid data: teams.payments"]],
		[{"rate_limits": [{"name": "x", "window_seconds": 61, "max": 1, "per": "all"}]}, ["invalid data: rate_limits.0"]],
		[{"rate_limits": [{"name": "x", "window_seconds": 60, "max": 1, "per": "galaxy"}]}, ["invalid data: rate_limits.0"]],
		[{"circuit_breaker": {"runs": 10, "min_runs": 5, "threshold_percent": 180, "open": "approval"}}, ["invalid data: circuit_breaker"]],
		[{"circuit_breaker": {"runs": 10, "min_runs": 5, "threshold_percent": 80, "open": "maybe"}}, ["invalid data: circuit_breaker"]],
		[{"blast_radius": {"max_pods": 3}}, ["invalid data: blast_radius"]],
		[{"blast_radius": {"actions": {"demo.restart": {"max_targets": "one"}}}}, ["invalid data: blast_radius"]],
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
	d.reasons == [
		"invalid data: approval", "invalid data: blast_radius", "invalid data: circuit_breaker",
		"invalid data: environments", "invalid data: freezes", "invalid data: kill_switch",
		"invalid data: rate_limits", "invalid data: services", "invalid data: teams",
		"invalid data: tiers",
	]
}

test_limits_are_optional if {
	gate.decide(_input, object.remove(_data, ["limits"])) == _allow
}

test_data_problems_name_the_fields if {
	gate.data_problems == []
	count(gate._invalid_data(_data_with({"tiers": []}))) == 1
}
