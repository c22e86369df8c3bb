package steward.gate_test

import data.steward.gate

test_environment_makes_warn_need_approval if {
	prod := _data_with({"services": {"demo": {"environment": "production"}}})
	d := gate.decide(_input_with({"tier": "warn"}), prod)
	d.outcome == "approval_required"
	d.reasons == ["tier warn requires approval in production"]
	gate.decide(_input_with({"tier": "info"}), prod) == _allow
}

test_unknown_service_uses_the_default_environment if {
	_decide({"target": "billing", "tier": "warn"}) == _allow
}

test_environment_overrides_approval_settings if {
	envs := {"production": {"approval": {"quorum": 3, "roles": ["sre"]}}}
	prod := _data_with({"services": {"demo": {"environment": "production"}}, "environments": envs})
	d := gate.decide(_input_with({"tier": "critical"}), prod)
	d.approval.quorum == 3
	d.approval.roles == ["sre"]
	d.approval.timeout_seconds == 600
}

test_opener_is_excluded if {
	d := _decide({"tier": "critical"})
	d.approval.excluded_principals == ["olga"]
}

_with_approval(changes) := _data_with({"approval": object.union(_approval, changes)})

test_teams_restrict_approvers if {
	d := gate.decide(_input_with({"tier": "critical"}), _with_approval({"teams": ["payments", "sre"]}))
	d.approval.teams == ["payments", "sre"]
	d.approval.principals == ["olga", "pat", "pia", "sam"]
}

test_service_owners_restrict_approvers if {
	d := gate.decide(_input_with({"tier": "critical"}), _with_approval({"owners_only": true}))
	d.approval.teams == ["payments"]
	d.approval.principals == ["olga", "pat", "pia"]
}

test_teams_and_owners_together_intersect if {
	both := _with_approval({"owners_only": true, "teams": ["payments", "sre"], "quorum": 1})
	d := gate.decide(_input_with({"tier": "critical"}), both)
	d.approval.teams == ["payments"]
	none := _with_approval({"owners_only": true, "teams": ["sre"], "quorum": 1})
	gate.decide(_input_with({"tier": "critical"}), none).rules == ["approval_quorum"]
}

test_quorum_that_cannot_be_met_is_denied if {
	# The owners are olga, pat and pia, and olga opened the incident: two remain.
	three := _with_approval({"owners_only": true, "quorum": 3})
	d := gate.decide(_input_with({"tier": "critical"}), three)
	d.outcome == "deny"
	d.reasons == ["approval quorum of 3 cannot be met: 2 eligible approvers"]
	d.rules == ["approval_quorum"]
	two := _with_approval({"owners_only": true, "quorum": 2})
	gate.decide(_input_with({"tier": "critical"}), two).outcome == "approval_required"
}

test_escalation_groups_are_computed if {
	chain := _with_approval({
		"owners_only": true,
		"escalation": [
			{"roles": ["operator"], "teams": ["sre"], "timeout_seconds": 300},
			{"roles": ["admin"], "timeout_seconds": 900},
		],
	})
	d := gate.decide(_input_with({"tier": "critical"}), chain)
	d.approval.escalation == [
		{"roles": ["operator"], "teams": ["sre"], "principals": ["sam"], "timeout_seconds": 300},
		{"roles": ["admin"], "teams": [], "principals": null, "timeout_seconds": 900},
	]
}

test_escalation_can_make_a_quorum_meetable if {
	chain := _with_approval({
		"owners_only": true,
		"quorum": 3,
		"escalation": [{"roles": ["operator"], "teams": ["sre"], "timeout_seconds": 300}],
	})
	d := gate.decide(_input_with({"tier": "critical"}), chain)
	d.outcome == "approval_required"
}

# The catalog's facts (stats.service) win over data.json's services entry; without them
# (inputs recorded before the catalog, or a target the catalog does not declare) data.json
# decides as it always did.
_from_catalog(env, owners) := _input_with({
	"tier": "critical",
	"stats": _stats_with({"service": {"environment": env, "owners": owners}}),
})

test_catalog_owners_win_over_data if {
	d := gate.decide(_from_catalog("staging", ["sre"]), _with_approval({"owners_only": true, "quorum": 1}))
	d.approval.teams == ["sre"]
	d.approval.principals == ["sam"]
}

test_catalog_environment_wins_over_data if {
	warn := _input_with({"tier": "warn", "stats": _stats_with({"service": {"environment": "production", "owners": []}})})
	d := gate.decide(warn, _data)
	d.outcome == "approval_required"
	d.reasons == ["tier warn requires approval in production"]
}

test_catalog_fact_null_falls_back_to_data if {
	null_fact := _input_with({"tier": "critical", "stats": _stats_with({"service": null})})
	d := gate.decide(null_fact, _with_approval({"owners_only": true}))
	d.approval.teams == ["payments"]
	d == gate.decide(_input_with({"tier": "critical"}), _with_approval({"owners_only": true}))
}

test_catalog_without_owners_cannot_meet_an_owners_only_quorum if {
	# data.json names owners for demo; the catalog's empty list is what counts.
	d := gate.decide(_from_catalog("staging", []), _with_approval({"owners_only": true, "quorum": 1}))
	d.outcome == "deny"
	d.rules == ["approval_quorum"]
}

test_recorded_input_without_the_fact_decides_as_before if {
	prod := _data_with({"services": {"demo": {"environment": "production", "owners": ["sre"]}}})
	d := gate.decide(_input_with({"tier": "warn"}), prod)
	d.outcome == "approval_required"
	d.reasons == ["tier warn requires approval in production"]
	d.approval.excluded_principals == ["olga"]
}

_set_resources := _input_with({"action": "k8s.set_resources", "tier": "warn"})

test_action_override_requires_approval_in_any_environment if {
	actions := {"k8s.set_resources": {"approval": true}}
	d := gate.decide(_set_resources, _data_with({"actions": actions}))
	d.outcome == "approval_required"
	d.reasons == ["action k8s.set_resources requires approval"]
	d.rules == ["action_approval"]
	d.approval.quorum == 2
}

test_action_override_only_names_its_action if {
	actions := {"k8s.set_resources": {"approval": true}}
	gate.decide(_input_with({"tier": "warn"}), _data_with({"actions": actions})) == _allow
}

test_action_override_never_lifts_a_tier if {
	actions := {"k8s.rollback": {"approval": false}}
	rollback := _input_with({"action": "k8s.rollback", "tier": "critical"})
	d := gate.decide(rollback, _data_with({"actions": actions}))
	d.outcome == "approval_required"
	d.rules == ["tier_approval"]
}

test_action_override_adds_to_the_tier_reason if {
	actions := {"k8s.set_resources": {"approval": true}}
	critical := _input_with({"action": "k8s.set_resources", "tier": "critical"})
	d := gate.decide(critical, _data_with({"actions": actions}))
	d.rules == ["action_approval", "tier_approval"]
}

test_malformed_action_override_is_invalid_data if {
	d := gate.decide(_set_resources, _data_with({"actions": {"k8s.set_resources": {"approval": "yes"}}}))
	d.outcome == "deny"
	d.reasons == ["invalid data: actions.k8s.set_resources"]
	e := gate.decide(_set_resources, _data_with({"actions": {"k8s.set_resources": {"tier": "critical"}}}))
	e.reasons == ["invalid data: actions.k8s.set_resources"]
	f := gate.decide(_set_resources, _data_with({"actions": []}))
	f.reasons == ["invalid data: actions"]
}
