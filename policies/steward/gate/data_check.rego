# METADATA
# title: Policy data validation
# description: >-
#   Malformed policy data denies with "invalid data: <field>". The bundle loader and
#   `steward policy check` refuse data with problems (data_problems), so the decision
#   path does not check it again; decide(input, data) does, for tests. A `*_check.rego`
#   module runs at load time only: the loader compiles it with the rest, then leaves it
#   out of the bundle that decides, because in regopy every module in that bundle costs
#   time on every decision. So nothing outside this file may use what it defines. The
#   helpers it shares with input validation live in validate.rego.
package steward.gate

# METADATA
# title: Data problems
# description: >-
#   What is wrong with the policy data, as "invalid data: <field>" strings. Loading a
#   bundle and `steward policy check` refuse data with problems, so decisions need not
#   check it again (in regopy that would double their cost).
data_problems := _sorted({f.reason | some f in _invalid_data(_given_config)})

default _given_config := {}

_given_config := data.steward.config

# METADATA
# title: Decide
# description: >-
#   The decision for gate input inp under policy data d. Invalid data or input denies
#   before anything else is looked at; then deny checks beat approval, and allow needs a
#   tier whose data explicitly says no approval is needed.
decide(inp, d) := _deny(problems) if {
	problems := _invalid_data(d)
	count(problems) > 0
} else := _decide_input(inp, d)

# Data is checked once at load, so there the full pattern is affordable.
_time_pattern := `^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?\+00:00$`

_valid_data_time(t) if {
	is_string(t)
	regex.match(_time_pattern, t)
}

# The pattern is checked before anything parses a time.
_valid_data_freezes(freezes) if {
	is_array(freezes)
	every f in freezes {
		_valid_data_freeze(f)
	}
}

_valid_data_freeze(f) if {
	_valid_data_time(f.start)
	_valid_data_time(f.end)
	_valid_freeze(f)
}

_invalid_data(d) := set() if {
	_valid_kill_switch(d.kill_switch)
	_valid_data_freezes(d.freezes)
	_valid_tiers(d.tiers)
	_valid_approval(d.approval)
	_valid_environments(d)
	_valid_services(d.services)
	_valid_teams(d.teams)
	_valid_rate_limits(d.rate_limits)
	_valid_breaker(d.circuit_breaker)
	_valid_blast_radius(d.blast_radius)
	_valid_limits(object.get(d, "limits", {}))
	_valid_actions(object.get(d, "actions", {}))
} else := found if {
	found := {_finding("invalid_data", concat("", ["invalid data: ", field])) |
		some field in _invalid_data_fields(d)
	}
	count(found) > 0

	# A safety net, unreachable while the diagnosis names every failure of the check.
} else := {_finding("invalid_data", "invalid data")}

_invalid_data_fields(d) := {"config"} if {
	not is_object(d)
} else := union({
	_invalid_kill_switch(d),
	_invalid_tiers(d),
	_invalid_approval(d),
	_invalid_limits(d),
	_invalid_sections(d),
})

# The reason is optional so that switching the kill switch off needs only `enabled`.
_invalid_kill_switch(d) := {"kill_switch"} if {
	not _has_type(d, "kill_switch", "object")
} else := union({
	{"kill_switch.enabled" | not _has_type(d.kill_switch, "enabled", "boolean")},
	{"kill_switch.reason" |
		_has_key(d.kill_switch, "reason")
		not _has_type(d.kill_switch, "reason", "string")
	},
})

_valid_tiers(tiers) if {
	is_object(tiers)
	every tier in tiers {
		is_boolean(tier.approval)
	}
}

_invalid_tiers(d) := {"tiers"} if {
	not _has_type(d, "tiers", "object")
} else := {concat(".", ["tiers", name, "approval"]) |
	some name in object.keys(d.tiers)
	not _has_type(d.tiers[name], "approval", "boolean")
}

_valid_approval(a) if {
	_valid_count(a.quorum)
	_valid_group(a)
	every group in object.get(a, "escalation", []) {
		_valid_group(group)
	}
	is_array(object.get(a, "escalation", []))
}

# One approver group: the base requirement or an escalation stage.
_valid_group(g) if {
	_valid_roles(g.roles)
	_valid_count(g.timeout_seconds)
	_optional_strings(g, "teams")
	is_boolean(object.get(g, "owners_only", false))
}

_invalid_approval(d) := {"approval"} if {
	not _has_type(d, "approval", "object")
} else := union({
	{"approval.quorum" | not _valid_count(object.get(d.approval, "quorum", null))},
	{"approval.roles" | not _valid_roles(object.get(d.approval, "roles", null))},
	{"approval.timeout_seconds" | not _valid_count(object.get(d.approval, "timeout_seconds", null))},
	{"approval.teams" | not _optional_strings(d.approval, "teams")},
	{"approval.owners_only" | not is_boolean(object.get(d.approval, "owners_only", false))},
	{"approval.escalation" | not _valid_escalation(object.get(d.approval, "escalation", []))},
})

_valid_escalation(stages) if {
	is_array(stages)
	every group in stages {
		_valid_group(group)
	}
}

# A positive whole number: quorums and timeouts become Python ints.
_valid_count(n) if {
	is_number(n)
	n >= 1
	n == round(n)
}

_valid_roles(roles) if {
	is_array(roles)
	count(roles) > 0
	every role in roles {
		is_string(role)
	}
}

# An environment may switch tiers' approval on or off and override approval settings;
# the approval it ends up with must still be valid.
_valid_environments(d) if {
	is_object(d.environments)
	every name in object.keys(d.environments) {
		_valid_environment(d.environments[name], d.approval)
	}
}

_valid_environment(env, approval) if {
	is_object(env)
	is_object(approval)
	_valid_tiers(object.get(env, "tiers", {}))
	is_object(object.get(env, "approval", {}))
	_valid_approval(object.union(approval, object.get(env, "approval", {})))
}

_valid_services(services) if {
	is_object(services)
	every svc in services {
		is_object(svc)
		is_string(object.get(svc, "environment", ""))
		_optional_strings(svc, "owners")
	}
}

_valid_teams(teams) if {
	is_object(teams)
	every members in teams {
		_strings(members)
	}
}

_scopes := {"all", "service", "target"}

_valid_rate_limits(rules) if {
	is_array(rules)
	every rule in rules {
		_valid_rate_limit(rule)
	}
}

_valid_rate_limit(rule) if {
	is_string(rule.name)
	is_number(rule.window_seconds)
	rule.window_seconds == round(rule.window_seconds)
	_has_key(_window_col, format_int(rule.window_seconds, 10))
	is_number(rule.max)
	rule.max >= 0
	rule.per in _scopes
	_optional_strings(rule, "actions")
	_optional_strings(rule, "tiers")
}

_breaker_modes := {"approval", "deny"}

_valid_breaker(cb) if {
	_valid_count(cb.runs)
	_valid_count(cb.min_runs)
	is_number(cb.threshold_percent)
	cb.threshold_percent >= 0
	cb.threshold_percent <= 100
	cb.open in _breaker_modes
	_optional_strings(cb, "tiers")
}

_blast_keys := {"max_targets", "max_namespaces", "max_replica_percent"}

_valid_blast_radius(br) if {
	is_object(br)
	_valid_blast_limits(object.remove(br, ["actions"]))
	is_object(object.get(br, "actions", {}))
	every limits in object.get(br, "actions", {}) {
		_valid_blast_limits(limits)
	}
}

_valid_blast_limits(limits) if {
	is_object(limits)
	every key in object.keys(limits) {
		key in _blast_keys
		is_number(limits[key])
	}
}

# Whole sections checked by one predicate each are named by section or entry.
_invalid_sections(d) := union({
	{"freezes" | not _valid_data_freezes(object.get(d, "freezes", null))},
	{"environments" | not is_object(object.get(d, "environments", null))},
	{concat(".", ["environments", name]) |
		is_object(d.environments)
		_valid_approval(object.get(d, "approval", null)) # a bad base is reported on its own
		some name in object.keys(d.environments)
		not _valid_environment(d.environments[name], object.get(d, "approval", {}))
	},
	{"services" | not is_object(object.get(d, "services", null))},
	{concat(".", ["services", name]) |
		is_object(d.services)
		some name in object.keys(d.services)
		not _valid_services({name: d.services[name]})
	},
	{"teams" | not is_object(object.get(d, "teams", null))},
	{concat(".", ["teams", name]) |
		is_object(d.teams)
		some name in object.keys(d.teams)
		not _strings(d.teams[name])
	},
	{"rate_limits" | not is_array(object.get(d, "rate_limits", null))},
	{concat(".", ["rate_limits", format_int(i, 10)]) |
		is_array(d.rate_limits)
		count(d.rate_limits) > 0
		some i in numbers.range(0, count(d.rate_limits) - 1)
		not _valid_rate_limit(d.rate_limits[i])
	},
	{"circuit_breaker" | not _valid_breaker(object.get(d, "circuit_breaker", null))},
	{"blast_radius" | not _valid_blast_radius(object.get(d, "blast_radius", null))},
	{"actions" | not is_object(object.get(d, "actions", {}))},
	{concat(".", ["actions", name]) |
		is_object(object.get(d, "actions", {}))
		some name in object.keys(object.get(d, "actions", {}))
		not _valid_action(d.actions[name])
	},
})

# Per-action settings are optional; each action's entry holds only a boolean approval.
_valid_actions(actions) if {
	is_object(actions)
	every a in actions {
		_valid_action(a)
	}
}

_valid_action(a) if {
	is_object(a)
	every key, value in a {
		key == "approval"
		is_boolean(value)
	}
}

# Limits are optional; when present every bound is a number under max_ or min_.
_valid_limits(limits) if {
	is_object(limits)
	every bounds in limits {
		_valid_bounds(bounds)
	}
}

_valid_bounds(bounds) if {
	is_object(bounds)
	every key, bound in bounds {
		is_number(bound)
		_bounded_param(key)
	}
}

_invalid_limits(d) := set() if {
	_valid_limits(object.get(d, "limits", {}))
} else := {"limits"} if {
	not _has_type(d, "limits", "object")
} else := union({
	{concat(".", ["limits", action]) |
		some action in object.keys(d.limits)
		not is_object(d.limits[action])
	},
	{concat(".", ["limits", action, key]) |
		some action in object.keys(d.limits)
		is_object(d.limits[action])
		some key in object.keys(d.limits[action])
		not _valid_bound(key, d.limits[action][key])
	},
})

_valid_bound(key, bound) if {
	is_number(bound)
	_bounded_param(key)
}
