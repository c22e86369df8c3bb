# METADATA
# title: Steward action gate
# description: >-
#   Decides whether one actuator call may run: allow, approval_required or deny.
#   Everything is a function of the gate input and the policy data, so tests call
#   decide with literal values instead of `with` (which can crash regopy).
package steward.gate

# METADATA
# title: Policy data
# description: >-
#   The keys of data.steward the gate reads. Each key is read on its own because
#   data.steward as a whole contains this package and would be rejected as recursion.
#   A missing key is left out so that data validation names it.
config := object.union_n([
	{"kill_switch": v | v := data.steward.kill_switch},
	{"tiers": v | v := data.steward.tiers},
	{"approval": v | v := data.steward.approval},
	{"limits": v | v := data.steward.limits},
])

# METADATA
# title: Gate decision
# description: >-
#   The decision for the current input. When anything it depends on is undefined,
#   the default makes it a deny rather than no answer.
# entrypoint: true
default decision := {
	"outcome": "deny",
	"reasons": ["undefined decision"],
	"approval": null,
	"rules": ["default_deny"],
}

decision := decide(input, config)

# METADATA
# title: Decide
# description: >-
#   The decision for gate input inp under policy data d. Invalid input or data denies
#   before anything else is looked at; then deny checks beat approval, and allow needs a
#   tier whose data explicitly says no approval is needed.
decide(inp, d) := _deny(problems) if {
	problems := union({_invalid_input(inp), _invalid_data(d)})
	count(problems) > 0
} else := _decide_valid(inp.action, inp.tier, inp.mode, inp.parameters, d)

# Performance shaped this file: in regopy every user function call that receives the
# whole input costs about 50 microseconds, so input is passed once and the checks get
# the fields they need. To add a check (rate limits, freezes, circuit breakers), write
# a function returning a set of findings and list it in the union below, passing it the
# input fields it reads.
_decide_valid(action, tier, mode, params, d) := _deny(denials) if {
	denials := union({
		_unknown_tier(tier, d.tiers),
		_unknown_mode(mode),
		_kill_switch(d.kill_switch),
		_parameter_limits(params, object.get(d, ["limits", action], {})),
	})
	count(denials) > 0
} else := {
	"outcome": "approval_required",
	"reasons": [concat(" ", ["tier", tier, "requires approval"])],
	"approval": object.filter(d.approval, ["quorum", "roles", "timeout_seconds"]),
	"rules": ["tier_approval"],
} if {
	d.tiers[tier].approval == true
} else := {
	"outcome": "allow",
	"reasons": [],
	"approval": null,
	"rules": ["tier_allow"],
} if {
	d.tiers[tier].approval == false
} else := _deny({_finding("default_deny", "no rule allows this action")})

_finding(rule, reason) := {"rule": rule, "reason": reason}

_deny(findings) := {
	"outcome": "deny",
	"reasons": _sorted({f.reason | some f in findings}),
	"approval": null,
	"rules": _sorted({f.rule | some f in findings}),
}

# regopy's sort() of a set returns a value typed as a set, which never equals an array;
# sorting an array copy gives a real array.
_sorted(s) := sort([x | some x in s])

# regopy quirks shaped the helpers below: `some k, v in x` does not parse inside a
# comprehension (iterate object.keys instead), a variable bound only inside `not` is
# silently never bound, and sprintf("%s") quotes strings that came from a literal in a
# comprehension, so messages are joined with concat and sprintf only formats numbers.

_has_key(obj, key) if _ = obj[key]

_has_type(obj, key, want) if type_name(obj[key]) == want

_string_fields := {"action", "target", "tier", "requester", "mode", "time", "workflow_id"}

_object_fields := {"parameters", "incident", "stats"}

_incident_fields := {"id", "service", "signal", "severity", "opened_by"}

# Well-formed input, the common case, is recognised in one body; naming the bad fields
# one by one only happens when that fails.
_invalid_input(inp) := set() if {
	is_string(inp.action)
	is_string(inp.target)
	is_string(inp.tier)
	is_object(inp.parameters)
	is_string(inp.requester)
	is_string(inp.mode)
	is_object(inp.stats)
	is_string(inp.time)
	is_string(inp.workflow_id)
	is_number(inp.step)
	is_string(inp.incident.id)
	is_string(inp.incident.service)
	is_string(inp.incident.signal)
	is_string(inp.incident.severity)
	is_string(inp.incident.opened_by)
} else := {_finding("invalid_input", concat("", ["invalid input: ", field])) |
	some field in _invalid_input_fields(inp)
}

_invalid_input_fields(inp) := union({
	{name |
		some name in _string_fields
		not is_string(inp[name])
	},
	{name |
		some name in _object_fields
		not is_object(inp[name])
	},
	{"step" | not is_number(inp.step)},
	{concat(".", ["incident", name]) |
		is_object(inp.incident)
		some name in _incident_fields
		not is_string(inp.incident[name])
	},
	{"not an object" | not is_object(inp)},
})

# As for input, valid data is recognised in one body before any diagnosis.
_invalid_data(d) := set() if {
	is_boolean(d.kill_switch.enabled)
	is_string(object.get(d.kill_switch, "reason", ""))
	is_object(d.tiers)
	every tier in d.tiers {
		is_boolean(tier.approval)
	}
	_valid_count(d.approval.quorum)
	_valid_roles(d.approval.roles)
	_valid_count(d.approval.timeout_seconds)
	_valid_limits(object.get(d, "limits", {}))
} else := {_finding("invalid_data", concat("", ["invalid data: ", field])) |
	some field in _invalid_data_fields(d)
}

_invalid_data_fields(d) := union({
	_invalid_kill_switch(d),
	_invalid_tiers(d),
	_invalid_approval(d),
	_invalid_limits(d),
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

_invalid_tiers(d) := {"tiers"} if {
	not _has_type(d, "tiers", "object")
} else := {concat(".", ["tiers", name, "approval"]) |
	some name in object.keys(d.tiers)
	not _has_type(d.tiers[name], "approval", "boolean")
}

_invalid_approval(d) := {"approval"} if {
	not _has_type(d, "approval", "object")
} else := union({
	{"approval.quorum" | not _valid_count(d.approval.quorum)},
	{"approval.roles" | not _valid_roles(d.approval.roles)},
	{"approval.timeout_seconds" | not _valid_count(d.approval.timeout_seconds)},
})

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

# Limits are optional; when present every bound is a number under max_ or min_.
_valid_limits(limits) if {
	is_object(limits)
	every bounds in limits {
		is_object(bounds)
		every key, bound in bounds {
			is_number(bound)
			_bounded_param(key)
		}
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

_bounded_param(key) := trim_prefix(key, "max_") if startswith(key, "max_")

_bounded_param(key) := trim_prefix(key, "min_") if startswith(key, "min_")

_unknown_tier(tier, tiers) := {_finding("unknown_tier", concat("", ["unknown tier: ", tier])) |
	not _has_key(tiers, tier)
}

_modes := {"apply", "simulate"}

_unknown_mode(mode) := {_finding("unknown_mode", concat("", ["unknown mode: ", mode])) |
	not mode in _modes
}

_kill_switch(kill_switch) := {_finding("kill_switch", concat("", ["kill switch: ", reason])) |
	kill_switch.enabled == true
	reason := _kill_switch_reason(object.get(kill_switch, "reason", ""))
}

_kill_switch_reason(reason) := reason if {
	is_string(reason)
	reason != ""
} else := "no reason given"

# bounds are data.steward.limits[action]: max_<param> and min_<param> apply to
# params[<param>]. A bounded parameter that is not a number is denied rather than
# compared, because Rego orders values of different types instead of failing. A bounded
# parameter that is absent is left to the actuator's parameter schema.
_parameter_limits(params, bounds) := {_finding("parameter_limit", reason) |
	some key in object.keys(bounds)
	some reason in _limit_violations(key, bounds[key], params)
}

_limit_violations(key, bound, params) := union({
	{concat(" ", [param, "must be a number"]) |
		param := _bounded_param(key)
		_has_key(params, param)
		not is_number(params[param])
	},
	{sprintf("%s %v exceeds the limit %v", [param, value, bound]) |
		startswith(key, "max_")
		param := _bounded_param(key)
		value := params[param]
		is_number(value)
		value > bound
	},
	{sprintf("%s %v is below the minimum %v", [param, value, bound]) |
		startswith(key, "min_")
		param := _bounded_param(key)
		value := params[param]
		is_number(value)
		value < bound
	},
})
