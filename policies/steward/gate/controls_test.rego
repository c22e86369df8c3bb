package steward.gate_test

import data.steward.gate

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

test_runtime_kill_switch_overrides_data if {
	on := {"enabled": true, "reason": "db migration", "by": "ada", "at": "2024-05-01T11:00:00+00:00"}
	d := _decide({"stats": _stats_with({"kill_switch": on})})
	d.reasons == ["kill switch: db migration (set by ada)"]
	off := {"enabled": false, "reason": "over", "by": "ada"}
	gate.decide(_input_with({"stats": _stats_with({"kill_switch": off})}), _killed) == _allow
}

_freeze := {
	"id": "f1",
	"start": "2024-05-01T00:00:00+00:00",
	"end": "2024-05-02T00:00:00+00:00",
	"reason": "release week",
}

test_freeze_denies_inside_its_window if {
	d := _decide({"stats": _stats_with({"freezes": [_freeze]})})
	d.outcome == "deny"
	d.reasons == ["change freeze until 2024-05-02T00:00:00+00:00: release week"]
	d.rules == ["freeze"]
}

test_freeze_window_is_half_open if {
	with_freeze := _stats_with({"freezes": [_freeze]})
	_decide({"stats": with_freeze, "time": "2024-05-02T00:00:00+00:00"}) == _allow
	_decide({"stats": with_freeze, "time": "2024-04-30T23:59:59.999+00:00"}) == _allow
	_decide({"stats": with_freeze, "time": "2024-05-01T23:59:59.5+00:00"}).rules == ["freeze"]
}

test_freeze_from_data_applies_too if {
	d := gate.decide(_input, _data_with({"freezes": [_freeze]}))
	d.rules == ["freeze"]
}

test_freeze_filters_services_and_tiers if {
	other := object.union(_freeze, {"services": ["billing"]})
	_decide({"stats": _stats_with({"freezes": [other]})}) == _allow
	mine := object.union(_freeze, {"services": ["demo"], "tiers": ["critical"]})
	_decide({"stats": _stats_with({"freezes": [mine]})}) == _allow
	_decide({"stats": _stats_with({"freezes": [mine]}), "tier": "critical"}).rules == ["freeze"]
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

_radius := _data_with({"blast_radius": {
	"max_targets": 2,
	"max_namespaces": 1,
	"max_replica_percent": 25,
	"actions": {"demo.restart": {"max_targets": 1}},
}})

_radius_decide(params) := gate.decide(_input_with({"parameters": params}), _radius)

test_blast_radius_counts_targets if {
	_radius_decide({"targets": ["a", "b"]}) == _allow
	d := _radius_decide({"targets": ["a", "b", "c"]})
	d.reasons == ["3 targets exceed the blast radius of 2"]
	d.rules == ["blast_radius"]
	_radius_decide({"targets": "a"}).reasons == ["targets must be a list"]
}

test_blast_radius_per_action_overrides if {
	restart := _input_with({"action": "demo.restart", "parameters": {"targets": ["a", "b"]}})
	gate.decide(restart, _radius).reasons == ["2 targets exceed the blast radius of 1"]
}

test_blast_radius_counts_namespaces if {
	_radius_decide({"namespace": "prod"}) == _allow
	_radius_decide({"namespaces": ["a", "b"]}).reasons == ["2 namespaces exceed the blast radius of 1"]
}

test_blast_radius_limits_replica_share if {
	_radius_decide({"replicas_affected": 2, "replicas_total": 8}) == _allow
	d := _radius_decide({"replicas_affected": 3, "replicas_total": 8})
	d.reasons == ["3 of 8 replicas exceed the blast radius of 25%"]
	bad := _radius_decide({"replicas_affected": "3", "replicas_total": 8})
	bad.reasons == ["replicas_affected and replicas_total must be numbers"]
}

_observed_decide(params, target) := gate.decide(
	_input_with({"parameters": params, "stats": _stats_with({"target": target})}),
	_radius,
)

test_blast_radius_decides_on_what_the_target_reports if {
	# The playbook claims 1 of 8; the cluster says scaling to 2 removes 6 of 8.
	d := _observed_decide({"replicas_affected": 1, "replicas_total": 8}, {"replicas_affected": 6, "replicas_total": 8})
	d.reasons == ["6 of 8 replicas exceed the blast radius of 25%"]
	_observed_decide({}, {"replicas_affected": 1, "replicas_total": 8, "pdbs": []}) == _allow
}

test_a_target_whose_facts_cannot_be_read_is_denied if {
	d := _observed_decide({}, {"error": "the target's facts could not be read: timeout"})
	d.outcome == "deny"
	d.reasons == ["the target's facts could not be read: timeout"]
	d.rules == ["target_facts"]
}

test_unset_blast_radius_checks_nothing if {
	_decide({"parameters": {"targets": ["a", "b", "c"], "namespaces": ["x", "y"]}}) == _allow
}

_limits := [
	{"name": "overall", "window_seconds": 60, "max": 10, "per": "all", "tiers": ["warn", "critical"]},
	{"name": "restarts", "window_seconds": 3600, "max": 3, "per": "service", "actions": ["demo.restart"]},
	{"name": "per target", "window_seconds": 300, "max": 2, "per": "target", "actions": ["demo.scale"]},
]

# Not named _group: a test helper named like a function of steward.gate crashes regopy.
# Counts are given by window ({"60": n, ...}) for readability and laid out as the row the
# gatherer writes.
_applied(action, service, target, tier, counts) := [
	action, service, target, tier,
	counts["60"], counts["300"], counts["900"], counts["3600"], counts["86400"],
]

_rated(changes, applied) := gate.decide(
	_input_with(object.union(changes, {"stats": _stats_with({"applied": applied})})),
	_data_with({"rate_limits": _limits}),
)

test_rate_limit_counts_across_playbooks_and_services if {
	nine := [
		_applied("demo.scale", "a", "a", "warn", {"60": 4, "300": 0, "900": 0, "3600": 0, "86400": 0}),
		_applied("demo.flag", "b", "b", "critical", {"60": 5, "300": 0, "900": 0, "3600": 0, "86400": 0}),
	]
	_rated({"tier": "warn"}, nine) == _allow
	ten := array.concat(nine, [_applied("x.y", "c", "c", "warn", _counts(1))])
	d := _rated({"tier": "warn"}, ten)
	d.reasons == ["rate limit overall: 10 applied in the last 60s, at most 10"]
	d.rules == ["rate_limit"]
}

test_rate_limit_ignores_tiers_it_does_not_name if {
	notes := [_applied("notify.log", "a", "a", "info", _counts(50))]
	_rated({"tier": "info"}, notes) == _allow
	_rated({"tier": "warn"}, notes) == _allow
}

test_rate_limit_per_service_counts_only_that_service if {
	restart := {"action": "demo.restart", "parameters": {}}
	others := [_applied("demo.restart", "billing", "billing", "critical", _counts(5))]
	_rated(restart, others) == _allow
	mine := [_applied("demo.restart", "demo", "demo", "critical", _counts(3))]
	_rated(restart, mine).reasons == ["rate limit restarts: 3 applied in the last 3600s, at most 3"]
}

test_rate_limit_per_target if {
	scaled := [_applied("demo.scale", "other", "demo", "info", {"60": 0, "300": 2, "900": 2, "3600": 2, "86400": 2})]
	_rated({}, scaled).reasons == ["rate limit per target: 2 applied in the last 300s, at most 2"]
	elsewhere := [_applied("demo.scale", "demo", "elsewhere", "info", _counts(9))]
	_rated({}, elsewhere) == _allow
}

_verified(outcomes) := _stats_with({"verified": outcomes})

test_circuit_breaker_reads_only_the_last_runs if {
	# 8 of the newest 10 passed: 80 % is not below 80 %; the older failures do not count.
	runs := [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0]
	_decide({"tier": "warn", "stats": _verified(runs)}) == _allow
}

test_circuit_breaker_opens_below_the_rate if {
	seven := [1, 0, 1, 0, 1, 1, 1, 1, 0, 1]
	d := _decide({"tier": "warn", "stats": _verified(seven)})
	d.outcome == "approval_required"
	d.reasons == ["circuit breaker: demo.scale on demo verified 7 of its last 10 runs, below 80%"]
	d.rules == ["circuit_breaker"]
	d.approval.quorum == 2
}

test_circuit_breaker_waits_for_enough_runs if {
	_decide({"tier": "warn", "stats": _verified([0, 0, 0, 0])}) == _allow
}

test_circuit_breaker_can_deny if {
	cb := {"runs": 10, "min_runs": 1, "threshold_percent": 80, "open": "deny", "tiers": ["warn"]}
	d := gate.decide(_input_with({"tier": "warn", "stats": _verified([0])}), _data_with({"circuit_breaker": cb}))
	d.outcome == "deny"
	d.rules == ["circuit_breaker"]
	other := _input_with({"tier": "info", "stats": _verified([0])})
	gate.decide(other, _data_with({"circuit_breaker": cb})) == _allow
}
