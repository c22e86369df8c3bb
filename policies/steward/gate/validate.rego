# METADATA
# title: Gate input validation
# description: >-
#   A missing or malformed input field or fact denies with "invalid input: <field>".
#   Well-formed input, the common case, is recognised in one body; naming the bad fields
#   one by one only happens when that fails. data_check.rego does the same for policy data.
package steward.gate

# Engine differences shaped the helpers below. `not f(x.missing)` is true in regopy but
# undefined in OPA, so a field that may be missing is read with object.get and a default
# that fails the check; and when the one-body check fails but no field is named, the
# answer is still a denial. In regopy `some k, v in x` does not parse inside a
# comprehension (iterate object.keys instead), a variable bound only inside `not` is
# silently never bound, and sprintf("%s") quotes strings that came from a literal in a
# comprehension, so messages are joined with concat and only numbers are formatted.

_string_fields := {"action", "target", "tier", "requester", "mode", "time", "workflow_id"}

_object_fields := {"parameters", "incident", "stats"}

_incident_fields := {"id", "service", "signal", "severity", "opened_by"}

# Times are RFC 3339 in UTC, written with +00:00 (regopy cannot parse a trailing Z),
# and are compared as strings: in that one format string order is time order, and no
# parsing means nothing can fail. OPA with strict builtin errors fails a whole evaluation
# on a time it cannot parse, and a regex costs a tenth of a millisecond per call in
# regopy, so input times get a cheap shape check; they come from the workflow clock and
# the gatherer. Data times get the full pattern (data_check.rego).
_valid_time(t) if {
	is_string(t)
	count(t) >= 25
	substring(t, 10, 1) == "T"
	endswith(t, "+00:00")
}

_invalid_input(inp) := set() if {
	is_string(inp.action)
	is_string(inp.target)
	is_string(inp.tier)
	is_object(inp.parameters)
	is_string(inp.requester)
	is_string(inp.mode)
	_valid_time(inp.time)
	is_string(inp.workflow_id)
	is_number(inp.step)
	is_string(inp.incident.id)
	is_string(inp.incident.service)
	is_string(inp.incident.signal)
	is_string(inp.incident.severity)
	is_string(inp.incident.opened_by)
	_valid_applied(inp.stats.applied)
	_valid_verified(inp.stats.verified)
	_valid_kill_switch_fact(inp.stats.kill_switch)
	_valid_freezes(inp.stats.freezes)
	_valid_service_fact(object.get(inp.stats, "service", null))
	_valid_target_fact(object.get(inp.stats, "target", null))
} else := found if {
	found := {_finding("invalid_input", concat("", ["invalid input: ", field])) |
		some field in _invalid_input_fields(inp)
	}
	count(found) > 0

	# A safety net, unreachable while the diagnosis names every failure of the check.
} else := {_finding("invalid_input", "invalid input")}

_invalid_input_fields(inp) := {"not an object"} if {
	not is_object(inp)
} else := union({
	{name |
		some name in _string_fields
		not is_string(object.get(inp, name, null))
	},
	{name |
		some name in _object_fields
		not is_object(object.get(inp, name, null))
	},
	{"step" | not is_number(object.get(inp, "step", null))},
	{"time" |
		is_string(inp.time)
		not _valid_time(inp.time)
	},
	{concat(".", ["incident", name]) |
		is_object(inp.incident)
		some name in _incident_fields
		not is_string(object.get(inp.incident, name, null))
	},
	_invalid_stats(inp),
})

# The facts: every one the gatherer supplies must be present and well formed, or the
# checks that read it would silently pass.
_invalid_stats(inp) := union({
	{"stats.applied" |
		is_object(inp.stats)
		not _valid_applied(object.get(inp.stats, "applied", null))
	},
	{"stats.verified" |
		is_object(inp.stats)
		not _valid_verified(object.get(inp.stats, "verified", null))
	},
	{"stats.kill_switch" |
		is_object(inp.stats)
		not _valid_kill_switch_fact(object.get(inp.stats, "kill_switch", "missing"))
	},
	{"stats.freezes" |
		is_object(inp.stats)
		not _valid_freezes(object.get(inp.stats, "freezes", null))
	},
	{"stats.service" |
		is_object(inp.stats)
		not _valid_service_fact(object.get(inp.stats, "service", null))
	},
	{"stats.target" |
		is_object(inp.stats)
		not _valid_target_fact(object.get(inp.stats, "target", null))
	},
})

# The catalog's environment and owners of the target, or null when it declares none.
# Missing is null too: gate inputs recorded before the catalog do not carry it.
_valid_service_fact(s) if s == null

# What the actuator read from the target (Actuator.observe): an object, or null when it reads
# nothing. Missing is null too: gate inputs recorded before it do not carry it.
_valid_target_fact(t) if t == null

_valid_target_fact(t) if is_object(t)

_valid_service_fact(s) if {
	is_string(s.environment)
	is_array(s.owners)
	every o in s.owners {
		is_string(o)
	}
}

# Applied actions grouped by action, service, target and tier, one row each:
# [action, service, target, tier, n60, n300, n900, n3600, n86400], where nW is how many
# were applied in the last W seconds (_window_col). Rows rather than objects: every node
# of the input costs time to hand to regopy and to read, and a row has a third of the
# nodes. The counts are summed, so each must be a number; the names are only compared
# for equality, so they are not checked one by one (every check costs time on every
# decision, and the gatherer writes them from typed rows).
_valid_applied(applied) if {
	is_array(applied)
	every g in applied {
		# Not a [_, ..., n86400] pattern: regopy reads every element of one, names too.
		count(g) == 9
		is_number(g[4])
		is_number(g[5])
		is_number(g[6])
		is_number(g[7])
		is_number(g[8])
	}
}

# Verified outcomes of this action's recent runs on this service, newest first: 1 for a
# run whose verification passed, 0 for one that failed (so that a sum counts successes).
_valid_verified(verified) if {
	is_array(verified)
	{v | some v in verified} - {0, 1} == set()
}

# The kill switch set at runtime through the API, or null when it never was.
_valid_kill_switch_fact(ks) if ks == null

_valid_kill_switch_fact(ks) if _valid_kill_switch(ks)

_valid_kill_switch(ks) if {
	is_boolean(ks.enabled)
	is_string(object.get(ks, "reason", ""))
}

_valid_freezes(freezes) if {
	is_array(freezes)
	every f in freezes {
		_valid_freeze(f)
	}
}

# A freeze window; services and tiers are optional filters (absent means all).
_valid_freeze(f) if {
	_valid_time(f.start)
	_valid_time(f.end)
	is_string(f.reason)
	_optional_strings(f, "services")
	_optional_strings(f, "tiers")
}

_optional_strings(obj, key) if _strings(object.get(obj, key, []))

_strings(xs) if {
	is_array(xs)
	every x in xs {
		is_string(x)
	}
}
