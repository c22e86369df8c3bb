# METADATA
# title: Steward action gate
# description: >-
#   Decides whether one actuator call may run. Every check is a function of the gate
#   input and the policy data, so tests call it with literal values instead of `with`
#   (which can crash regopy). Each check returns a set of findings; adding a check
#   (rate limits, freezes, circuit breakers) means one function and one line in
#   _denials.
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
#   The decision for gate input inp under policy data d: deny beats approval_required
#   beats allow, and allow needs a tier that explicitly says no approval is needed.
decide(inp, d) := _decision(outcome, denials, approvals, d) if {
	denials := _denials(inp, d)
	approvals := _approvals(inp, d)
	outcome := _outcome(denials, approvals, _allowances(inp, d))
}

_modes := {"apply", "simulate"}

_input_types := {
	"action": "string",
	"target": "string",
	"tier": "string",
	"parameters": "object",
	"incident": "object",
	"requester": "string",
	"mode": "string",
	"stats": "object",
	"time": "string",
	"workflow_id": "string",
	"step": "number",
}

_incident_types := {
	"id": "string",
	"service": "string",
	"signal": "string",
	"severity": "string",
	"opened_by": "string",
}

_finding(rule, reason) := {"rule": rule, "reason": reason}

_outcome(denials, approvals, allowances) := "deny" if {
	count(denials) > 0
} else := "approval_required" if {
	count(approvals) > 0
} else := "allow" if {
	count(allowances) > 0
} else := "deny"

_decision("deny", denials, _, _) := {
	"outcome": "deny",
	"reasons": _sorted({f.reason | some f in findings}),
	"approval": null,
	"rules": _sorted({f.rule | some f in findings}),
} if {
	findings := _or_nothing_allows(denials)
}

_decision("approval_required", _, approvals, d) := {
	"outcome": "approval_required",
	"reasons": _sorted({f.reason | some f in approvals}),
	"approval": {
		"quorum": d.approval.quorum,
		"roles": d.approval.roles,
		"timeout_seconds": d.approval.timeout_seconds,
	},
	"rules": _sorted({f.rule | some f in approvals}),
}

_decision("allow", _, _, _) := {
	"outcome": "allow",
	"reasons": [],
	"approval": null,
	"rules": ["tier_allow"],
}

# regopy's sort() of a set returns a value typed as a set, which never equals an array;
# sorting an array copy gives a real array.
_sorted(s) := sort([x | some x in s])

# A deny that no check asked for means nothing allowed the action; say so rather than
# returning an empty reason list.
_or_nothing_allows(denials) := denials if {
	count(denials) > 0
} else := {_finding("default_deny", "no rule allows this action")}

# Deny checks. Each returns a set of findings and is defined for any argument, so an odd
# input or data document produces findings instead of an undefined decision.
#
# regopy quirks shaped the helpers below: `some k, v in x` does not parse inside a
# comprehension (iterate object.keys instead), a variable bound only inside `not` is
# silently never bound, and sprintf("%s") quotes strings that came from a literal in a
# comprehension, so messages are joined with concat and sprintf only formats numbers.
_denials(inp, d) := union({
	_invalid_input(inp),
	_invalid_data(d),
	_unknown_tier(inp, d),
	_unknown_mode(inp),
	_kill_switch(d),
	_parameter_limits(inp, d),
})

_has_key(obj, key) if _ = obj[key]

_has_type(obj, key, want) if type_name(obj[key]) == want

_invalid_input(inp) := {_finding("invalid_input", concat("", ["invalid input: ", field])) |
	some field in _invalid_input_fields(inp)
}

# The common case, a well-formed input, is settled by comparing type shapes at once;
# naming the bad fields one by one only happens when that comparison fails.
_invalid_input_fields(inp) := set() if {
	_shape(inp, _input_types) == _input_types
	_shape(inp.incident, _incident_types) == _incident_types
} else := union({
	{name |
		some name in object.keys(_input_types)
		not _has_type(inp, name, _input_types[name])
	},
	{concat(".", ["incident", name]) |
		is_object(inp.incident)
		some name in object.keys(_incident_types)
		not _has_type(inp.incident, name, _incident_types[name])
	},
	{"not an object" | not is_object(inp)},
})

# The type names of obj's values under the keys of want; absent keys are left out.
_shape(obj, want) := {key: type_name(obj[key]) | some key in object.keys(want)}

_invalid_data(d) := {_finding("invalid_data", concat("", ["invalid data: ", field])) |
	some field in _invalid_data_fields(d)
}

# As for input, valid data (the common case) is recognised in one pass before any
# field-by-field diagnosis.
_invalid_data_fields(d) := set() if {
	_valid_data(d)
} else := union({
	_invalid_kill_switch(d),
	_invalid_tiers(d),
	_invalid_approval(d),
	_invalid_limits(d),
})

_valid_data(d) if {
	is_boolean(d.kill_switch.enabled)
	is_string(object.get(d.kill_switch, "reason", ""))
	is_object(d.tiers)
	every tier in d.tiers {
		is_boolean(tier.approval)
	}
	_valid_count(d.approval.quorum)
	_valid_roles(d.approval.roles)
	_valid_count(d.approval.timeout_seconds)
	count(_invalid_limits(d)) == 0
}

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

# Limits are optional; when present every bound must be a number under a known prefix.
_invalid_limits(d) := set() if {
	not _has_key(d, "limits")
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

_unknown_tier(inp, d) := {_finding("unknown_tier", concat("", ["unknown tier: ", inp.tier])) |
	is_string(inp.tier)
	not _has_key(d.tiers, inp.tier)
}

_unknown_mode(inp) := {_finding("unknown_mode", concat("", ["unknown mode: ", inp.mode])) |
	is_string(inp.mode)
	not inp.mode in _modes
}

_kill_switch(d) := {_finding("kill_switch", concat("", ["kill switch: ", _kill_switch_reason(d)])) |
	d.kill_switch.enabled == true
}

_kill_switch_reason(d) := d.kill_switch.reason if {
	is_string(d.kill_switch.reason)
	d.kill_switch.reason != ""
} else := "no reason given"

# Bounds come from data.steward.limits[action]: max_<param> and min_<param> apply to
# parameters[<param>]. A bounded parameter that is not a number is denied rather than
# compared, because Rego orders values of different types instead of failing. A bounded
# parameter that is absent is left to the actuator's parameter schema.
_parameter_limits(inp, d) := {_finding("parameter_limit", reason) |
	bounds := d.limits[inp.action]
	some key in object.keys(bounds)
	some reason in _limit_violations(key, bounds[key], inp.parameters)
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
		is_number(bound)
		value > bound
	},
	{sprintf("%s %v is below the minimum %v", [param, value, bound]) |
		startswith(key, "min_")
		param := _bounded_param(key)
		value := params[param]
		is_number(value)
		is_number(bound)
		value < bound
	},
})

_bounded_param(key) := trim_prefix(key, "max_") if startswith(key, "max_")

_bounded_param(key) := trim_prefix(key, "min_") if startswith(key, "min_")

# Approval and allow only matter when no deny check fired; see _outcome.
_approvals(inp, d) := {_finding("tier_approval", concat(" ", ["tier", inp.tier, "requires approval"])) |
	d.tiers[inp.tier].approval == true
}

_allowances(inp, d) := {"tier_allow" | d.tiers[inp.tier].approval == false}
