package steward.gate_test

import data.steward.gate

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

# Times are UTC written +00:00: a Z, another offset or no offset is invalid input.
test_time_must_be_utc_with_an_offset if {
	every t in ["2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00", "soon"] {
		d := _decide({"time": t})
		d.outcome == "deny"
		d.reasons == ["invalid input: time"]
	}
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

test_missing_fact_is_invalid_input if {
	every fact in object.keys(_stats) {
		d := _decide({"stats": object.remove(_stats, [fact])})
		d.outcome == "deny"
		d.reasons == [concat("", ["invalid input: stats.", fact])]
		d.rules == ["invalid_input"]
	}
}

test_malformed_facts_are_invalid_input if {
	bad := [
		[{"applied": {}}, "stats.applied"],
		[{"applied": [["a", "s", "t", "warn"]]}, "stats.applied"],
		[{"applied": [["a", "s", "t", "warn", 1, 1, 1, 1, 1, 1]]}, "stats.applied"],
		[{"applied": [["a", "s", "t", "warn", 1, 1, "1", 1, 1]]}, "stats.applied"],
		[{"applied": [{"action": "a", "service": "s", "target": "t", "tier": "warn", "counts": {"60": 1}}]}, "stats.applied"],
		[{"verified": [true]}, "stats.verified"],
		[{"kill_switch": {"reason": "x"}}, "stats.kill_switch"],
		[{"kill_switch": true}, "stats.kill_switch"],
		[{"freezes": [{"start": "2024-05-01T00:00:00+00:00"}]}, "stats.freezes"],
		[{"freezes": [{"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00+00:00", "reason": "r"}]}, "stats.freezes"],
		[{"service": "demo"}, "stats.service"],
		[{"service": {"owners": []}}, "stats.service"],
		[{"service": {"environment": "production", "owners": "sre"}}, "stats.service"],
		[{"service": {"environment": "production", "owners": [1]}}, "stats.service"],
	]
	every case in bad {
		d := _decide({"stats": _stats_with(case[0])})
		d.outcome == "deny"
		d.reasons == [concat("", ["invalid input: ", case[1]])]
	}
}

test_service_fact_may_be_missing_or_null if {
	_decide({"stats": _stats}) == _allow
	_decide({"stats": _stats_with({"service": null})}) == _allow
	_decide({"stats": _stats_with({"service": {"environment": "staging", "owners": ["sre"]}})}) == _allow
}

test_a_target_fact_must_be_an_object_or_null if {
	gate.decide(_input_with({"stats": _stats_with({"target": null})}), _data) == _allow
	d := gate.decide(_input_with({"stats": _stats_with({"target": "eight"})}), _data)
	d.reasons == ["invalid input: stats.target"]
}
