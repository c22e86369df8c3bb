# METADATA
# title: Gate controls that deny
# description: >-
#   Unknown tiers and modes, the kill switch, change freezes, parameter limits, blast
#   radius, rate limits and the circuit breaker. Each returns a set of findings
#   ({"rule", "reason"}); the call summary c carries action, target, tier, mode, service
#   (the incident's), opened_by, now (the input's UTC time) and the target's environment.
package steward.gate

_unknown_tier(tier, tiers) := {_finding("unknown_tier", concat("", ["unknown tier: ", tier])) |
	not _has_key(tiers, tier)
}

_modes := {"apply", "simulate"}

_unknown_mode(mode) := {_finding("unknown_mode", concat("", ["unknown mode: ", mode])) |
	not mode in _modes
}

# The kill switch set through the API (a fact from the app database) overrides the one
# in data.json; null means nobody has set it at runtime.
_kill_switch_state(static, runtime) := runtime if is_object(runtime) else := static

_kill_switch(ks) := {_finding("kill_switch", concat("", ["kill switch: ", reason, by])) |
	ks.enabled == true
	reason := _non_empty(object.get(ks, "reason", ""), "no reason given")
	by := _set_by(object.get(ks, "by", ""))
}

_non_empty(s, fallback) := s if {
	is_string(s)
	s != ""
} else := fallback

_set_by(by) := concat("", [" (set by ", by, ")"]) if {
	is_string(by)
	by != ""
} else := ""

# Freezes come from data.json (planned calendar windows) and from the API (facts); a
# window covers [start, end) and, when it lists them, only some services and tiers.
# Times are UTC RFC 3339 strings, whose order is the time order (validate.rego).
_freezes(c, freezes) := {_finding("freeze", reason) |
	some f in freezes
	_freeze_covers(f, c)
	c.tier in object.get(f, "tiers", [c.tier])
	f.start <= c.now
	c.now < f.end
	reason := concat("", ["change freeze until ", f.end, ": ", f.reason])
}

_freeze_covers(f, _) if not _has_key(f, "services")

_freeze_covers(f, c) if c.target in f.services

_freeze_covers(f, c) if c.service in f.services

# bounds are data.steward.limits[action]: max_<param> and min_<param> apply to
# params[<param>]. A bounded parameter that is not a number is denied rather than
# compared, because Rego orders values of different types instead of failing. A bounded
# parameter that is absent is left to the actuator's parameter schema.
_parameter_limits(params, bounds) := {_finding("parameter_limit", reason) |
	some key in object.keys(bounds)
	some reason in _limit_violations(key, bounds[key], params)
}

# The parameter a bound limits: max_replicas and min_replicas bound replicas.
_bounded_param(key) := trim_prefix(key, "max_") if startswith(key, "max_")

_bounded_param(key) := trim_prefix(key, "min_") if startswith(key, "min_")

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

# Facts the actuator read from the target (input.stats.target, Actuator.observe) replace the
# parameters of the same names, so blast radius decides on what is really there.
_observed(params, stats) := object.union(params, object.remove(target, ["error"])) if {
	target := object.get(stats, "target", null)
	is_object(target)
} else := params

# A target whose facts could not be read is not acted on: its blast radius is unknown.
_target_unreadable(stats) := {_finding("target_facts", reason) |
	reason := object.get(stats, ["target", "error"], null)
	is_string(reason)
}

# Blast radius reads conventional parameters: targets (a list), namespaces (a list) or
# namespace (one), and replicas_affected of replicas_total. Per-action limits replace
# the defaults key by key; a limit that is not set is not checked.
_blast_limits(br, action) := object.union(
	object.remove(br, ["actions"]),
	object.get(br, ["actions", action], {}),
)

_blast_radius(params, limits) := union({
	{_finding("blast_radius", reason) |
		_has_key(params, "targets")
		reason := _too_many("targets", params.targets, limits.max_targets)
	},
	{_finding("blast_radius", reason) |
		_names_namespaces(params)
		reason := _too_many("namespaces", _namespaces(params), limits.max_namespaces)
	},
	{_finding("blast_radius", reason) | reason := _replica_share(params, limits)},
})

_too_many(name, xs, limit) := concat(" ", [name, "must be a list"]) if {
	not is_array(xs)
} else := concat("", [
	format_int(count(xs), 10), " ", name, " exceed the blast radius of ",
	format_int(limit, 10),
]) if {
	count(xs) > limit
}

_names_namespaces(params) if _has_key(params, "namespaces")

_names_namespaces(params) if _has_key(params, "namespace")

# Only asked when _names_namespaces holds.
_namespaces(params) := params.namespaces if {
	_has_key(params, "namespaces")
} else := [params.namespace]

_replica_share(params, limits) := "replicas_affected and replicas_total must be numbers" if {
	_has_key(limits, "max_replica_percent")
	_has_key(params, "replicas_affected")
	not _replica_numbers(params)
} else := concat("", [
	format_int(params.replicas_affected, 10), " of ", format_int(params.replicas_total, 10),
	" replicas exceed the blast radius of ", format_int(limits.max_replica_percent, 10), "%",
]) if {
	_replica_numbers(params)
	params.replicas_affected * 100 > limits.max_replica_percent * params.replicas_total
}

_replica_numbers(params) if {
	is_number(params.replicas_affected)
	is_number(params.replicas_total)
}

# A rate limit applies when the requested action and tier match its filters; it counts
# the applied actions matching the same filters in its window and scope, across every
# playbook. Reaching the maximum denies the next one.
#
# Each filter narrows the rows once, outside the others, and a row is matched by lookups
# and equality only: in regopy every function or builtin call per row costs more than
# the whole loop without them.
_rate_limits(c, rules, applied) := {_finding("rate_limit", reason) |
	some rule in rules
	c.action in object.get(rule, "actions", [c.action])
	c.tier in object.get(rule, "tiers", [c.tier])
	col := _window_col[format_int(rule.window_seconds, 10)]
	scoped := _in_scope(rule.per, c, applied)
	actions := _with_values(object.get(rule, "actions", null), 0, scoped)
	matching := _with_values(object.get(rule, "tiers", null), 3, actions)
	used := sum([n | some g in matching; n := g[col]])
	used >= rule.max
	reason := concat("", [
		"rate limit ", rule.name, ": ", format_int(used, 10), " applied in the last ",
		format_int(rule.window_seconds, 10), "s, at most ", format_int(rule.max, 10),
	])
}

# Where each window's count sits in an applied row (validate.rego): the windows, in
# seconds as strings, the facts gatherer counts over. A rate limit names one of them.
_window_col := {"60": 4, "300": 5, "900": 6, "3600": 7, "86400": 8}

# The rows a rule's scope counts: all of them, the request's service's, or its target's.
_in_scope("all", _, applied) := applied

_in_scope("service", c, applied) := [g | some g in applied; g[1] == c.service]

_in_scope("target", c, applied) := [g | some g in applied; g[2] == c.target]

# The rows whose column col (0 the action, 3 the tier) is one of values; a rule without
# that filter (null) keeps every row. regopy: col is copied into the comprehension
# because a function argument used as a key there matches every key.
_with_values(null, _, rows) := rows

_with_values(values, col, rows) := [g | i := col; some g in rows; allowed[g[i]]] if {
	values != null
	allowed := {v: true | some v in values}
}

# The circuit breaker opens when the verified success rate of this action's last runs on
# this service is below the threshold; open means approval or deny, as data says. Whole
# numbers keep the comparison exact in every engine.
_breaker_findings(c, cb, verified, mode) := {_finding("circuit_breaker", reason) |
	cb.open == mode
	c.tier in object.get(cb, "tiers", [c.tier])
	window := array.slice(verified, 0, cb.runs)
	runs := count(window)
	runs >= cb.min_runs
	ok := sum(window)
	ok * 100 < cb.threshold_percent * runs
	reason := concat("", [
		"circuit breaker: ", c.action, " on ", c.service, " verified ", format_int(ok, 10),
		" of its last ", format_int(runs, 10), " runs, below ",
		format_int(cb.threshold_percent, 10), "%",
	])
}
