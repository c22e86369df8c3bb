# METADATA
# title: Approval requirements
# description: >-
#   Which tiers need approval (per environment), and who must approve: a quorum of
#   principals holding one of the roles, optionally members of given teams or of the
#   teams owning the target service, never the principal who opened the incident, with
#   an escalation chain of further approver groups. The workflow enforces the
#   requirement this computes; it does not decide eligibility itself.
package steward.gate

# Info and warn are automatic and critical needs approval unless data says otherwise,
# and an environment may override any tier (e.g. warn needs approval in production).
_tier_needs_approval(c, d) := object.get(
	c.environment,
	["tiers", c.tier, "approval"],
	d.tiers[c.tier].approval,
)

_tier_approval(c, d) := {_finding("tier_approval", _tier_reason(c)) |
	_tier_needs_approval(c, d) == true
}

# An action may need approval whatever its tier (actions.<name>.approval in data): for a
# change that is warn by its nature but needs a person's eye in every environment, such as
# a new memory limit. It only adds a requirement; it never lifts a tier's.
_action_approval(c, d) := {_finding("action_approval", reason) |
	object.get(d, ["actions", c.action, "approval"], false) == true
	reason := concat(" ", ["action", c.action, "requires approval"])
}

_tier_reason(c) := concat("", ["tier ", c.tier, " requires approval in ", c.env]) if {
	_has_key(object.get(c.environment, ["tiers", c.tier], {}), "approval")
} else := concat(" ", ["tier", c.tier, "requires approval"])

_approval_config(c, d) := object.union(d.approval, object.get(c.environment, "approval", {}))

# The requirement handed to the workflow. principals is null when any holder of a role
# may approve, else the members of the eligible teams; excluded_principals may never
# approve (four-eyes: the incident's opener). Votes from earlier stages keep counting
# towards the quorum after an escalation.
_requirement(c, d) := {
	"quorum": a.quorum,
	"roles": base.roles,
	"teams": base.teams,
	"principals": base.principals,
	"excluded_principals": [c.opened_by],
	"timeout_seconds": base.timeout_seconds,
	"escalation": [_group(g, c.owners, d.teams) | some g in object.get(a, "escalation", [])],
} if {
	a := _approval_config(c, d)
	base := _group(a, c.owners, d.teams)
}

_group(g, owners, teams) := {
	"roles": g.roles,
	"teams": [],
	"principals": null,
	"timeout_seconds": g.timeout_seconds,
} if {
	object.get(g, "teams", []) == []
	object.get(g, "owners_only", false) == false
} else := {
	"roles": g.roles,
	"teams": _sorted(ts),
	"principals": _sorted({m | some t in ts; some m in object.get(teams, t, [])}),
	"timeout_seconds": g.timeout_seconds,
} if {
	ts := _group_teams(object.get(g, "teams", []), object.get(g, "owners_only", false), owners)
}

# Eligible teams: the listed ones, the service's owners, or both (the owners among the
# listed). A group that restricts by neither leaves roles alone to decide (above).
_group_teams(listed, owners_only, owners) := {t | some t in listed; t in owners} if {
	count(listed) > 0
	owners_only == true
} else := {t | some t in listed} if {
	count(listed) > 0
} else := {t | some t in owners}

# Votes from every stage count towards one quorum, so it is unmeetable only when every
# stage is restricted to named principals and, all stages together, too few of them may
# approve.
_unmeetable_quorum(req) := reason if {
	groups := array.concat([req], req.escalation)
	every g in groups {
		g.principals != null
	}
	named := {p | some g in groups; some p in g.principals}
	pool := named - {p | some p in req.excluded_principals}
	count(pool) < req.quorum
	reason := concat("", [
		"approval quorum of ", format_int(req.quorum, 10), " cannot be met: ",
		format_int(count(pool), 10), " eligible approvers",
	])
}
