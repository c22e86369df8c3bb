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
