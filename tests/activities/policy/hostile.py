"""Hostile policy bundles (the issue 13 reproducer), and this process's memory (VmRSS)."""

from __future__ import annotations

from pathlib import Path

ALLOW = '{"outcome": "allow", "reasons": [], "approval": null, "rules": ["allow"]}'
# A comprehension over three million numbers: gigabytes in regopy, the reproducer's module.
HUGE = "count({x | some x in numbers.range(1, 3000000)}) > 0"

# Builds the huge set as soon as anything decides, including the load-time smoke test.
HUGE_SET = f"""package steward.gate

big := {{x | some x in numbers.range(1, 3000000)}}

decision := {ALLOW} if count(big) > 0
"""

# Loads and decides step 1 cheaply; only a decision for step 2 builds the huge set.
HUGE_ON_STEP_2 = f"""package steward.gate

default decision := {ALLOW}

decision := {{"outcome": "deny", "reasons": ["huge"], "approval": null, "rules": ["huge"]}} if {{
	input.step == 2
	{HUGE}
}}
"""

# Allows everything but a cache purge, whose decision builds the huge set.
HUGE_ON_PURGE = HUGE_ON_STEP_2.replace("input.step == 2", 'input.action == "demo.purge_cache"')


def make_data_check_hostile(policy_dir: Path) -> None:
    """Make the shipped policy's data check (run by every load) build the huge set."""
    check = policy_dir / "steward/gate/data_check.rego"
    text = check.read_text()
    rule = "data_problems := _sorted({f.reason | some f in _invalid_data(_given_config)})"
    assert rule in text
    check.write_text(text.replace(rule, f"{rule} if {{\n\t{HUGE}\n}}"))


def rss_mib() -> float:
    """This process's resident set size (``VmRSS`` of /proc/self/status), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
