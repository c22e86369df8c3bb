# METADATA
# title: Steward action gate
# description: >-
#   Decides whether one actuator call may run: allow, approval_required or deny.
#   Everything is a function of the gate input (the call and the facts gathered from
#   the app database) and the policy data, so tests call decide with literal values
#   instead of `with` (which can crash regopy). The checks live beside this file:
#   validate.rego (input shape), data_check.rego (data shape, checked at load),
#   controls.rego (kill switch,
#   freezes, rate limits, circuit breaker, blast radius, parameter limits) and
#   approval.rego (who must approve, how many, and the escalation chain).
package steward.gate

# METADATA
# title: Policy data
# description: >-
#   The gate's configuration, data.steward.config in data.json. It is one object read
#   with one reference: data.steward as a whole contains this package (recursion), and
#   in regopy every extra reference costs time on every decision. Its shape is checked
#   once, when the bundle loads (data_check.rego), not on every decision.
config := data.steward.config

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

decision := _decide_input(input, config)

# The decision for data already known to be valid.
_decide_input(inp, d) := _deny(problems) if {
	problems := _invalid_input(inp)
	count(problems) > 0
} else := _decide_valid(
	{
		"action": inp.action,
		"target": inp.target,
		"tier": inp.tier,
		"mode": inp.mode,
		"service": inp.incident.service,
		"opened_by": inp.incident.opened_by,
		"now": inp.time,
		"env": env,
		"environment": object.get(d.environments, env, {}),
		"owners": object.get(svc, "owners", []),
	},
	inp.parameters,
	inp.stats,
	d,
) if {
	svc := _service_facts(inp, d)
	env := object.get(svc, "environment", "default")
}

# The target's environment and owners: the service catalog's, which the gate passes as
# stats.service, else the services entry of data.json. Inputs recorded before the catalog
# lack the fact (what-if replays decide them again) and so decide as they did then.
_service_facts(inp, d) := s if {
	s := object.get(inp.stats, "service", null)
	s != null
} else := object.get(d.services, inp.target, {})

# Performance shaped this file: in regopy every user function call that receives the
# whole input costs about 50 microseconds, so input is passed once and the checks get a
# small call summary (c) plus only the parts they read; c also carries the target's
# environment and owners, looked up once. A check is a function returning a set of findings;
# denials and approval needs are unions of those sets.
#
# Both unions are computed before anything is decided: were one undefined (a check
# reading something that is not there), an else chain would skip it and fall through to
# a weaker answer. Here an undefined union leaves the decision undefined, which is a deny,
# as is a tier whose approval flag is neither true nor false.
_decide_valid(c, params, stats, d) := _outcome(denials, needs, c, d) if {
	denials := union({
		_unknown_tier(c.tier, d.tiers),
		_unknown_mode(c.mode),
		_kill_switch(_kill_switch_state(d.kill_switch, stats.kill_switch)),
		_freezes(c, array.concat(d.freezes, stats.freezes)),
		_parameter_limits(params, object.get(d, ["limits", c.action], {})),
		_blast_radius(_observed(params, stats), _blast_limits(d.blast_radius, c.action)),
		_target_unreadable(stats),
		_rate_limits(c, d.rate_limits, stats.applied),
		_breaker_findings(c, d.circuit_breaker, stats.verified, "deny"),
	})
	needs := union({
		_tier_approval(c, d),
		_action_approval(c, d),
		_breaker_findings(c, d.circuit_breaker, stats.verified, "approval"),
	})
}

_outcome(denials, needs, c, d) := _deny(denials) if {
	count(denials) > 0
} else := _approval_decision(needs, _requirement(c, d)) if {
	count(needs) > 0
} else := {
	"outcome": "allow",
	"reasons": [],
	"approval": null,
	"rules": ["tier_allow"],
} if {
	_tier_needs_approval(c, d) == false
}

_finding(rule, reason) := {"rule": rule, "reason": reason}

_deny(findings) := {
	"outcome": "deny",
	"reasons": _sorted({f.reason | some f in findings}),
	"approval": null,
	"rules": _sorted({f.rule | some f in findings}),
}

# A requirement nobody can meet (too few eligible approvers for the quorum) is a deny:
# waiting for approvals that cannot arrive only delays the answer.
_approval_decision(needs, req) := _deny({_finding("approval_quorum", reason)}) if {
	reason := _unmeetable_quorum(req)
} else := {
	"outcome": "approval_required",
	"reasons": _sorted({f.reason | some f in needs}),
	"approval": req,
	"rules": _sorted({f.rule | some f in needs}),
}

# regopy's sort() of a set returns a value typed as a set, which never equals an array;
# sorting an array copy gives a real array. regopy also iterates sets in insertion
# order, so anything built from a set is sorted before it leaves the policy.
_sorted(s) := sort([x | some x in s])

_has_key(obj, key) if _ = obj[key]

_has_type(obj, key, want) if type_name(obj[key]) == want
