"""``steward policy check`` and reloads: is a policy directory fit to go live?

A policy is fit when the real OPA engine compiles every module (tests included), regopy
compiles the bundle and its data passes the policy's own check (the embedded engine must
be able to run it), every fact it reads is one the facts gatherer supplies, and a decision
on facts shaped like the gatherer's is not "invalid input". Problems carry ``file:line``
where an engine or the scan located them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from activities.policy import runtime
from activities.policy.bundle import PolicyBundle, PolicyError, policy_files
from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import FACT_KEYS, sample_stats
from activities.policy.limits import BundleLimits, BundleTooLargeError, check_bundle_size
from activities.policy.opa_local import OpaPolicy, Problem, problems_from_error, rego_files
from activities.policy.sandbox import PolicySandbox, SandboxLimits
from activities.policy.types import GateInput, IncidentRef
from api.core.settings import get_settings
from api.models.policy import PolicyChange

# A fact is read as stats.<name> (or stats["<name>"]), where stats is input.stats or a
# variable or argument holding it: the gate's convention, which the scan relies on.
_FACT_REF = re.compile(r"\bstats(?:\.([A-Za-z_]\w*)|\[\s*\"([^\"]*)\"\s*\])")


@dataclass
class CheckReport:
    """The outcome of a check."""

    directory: Path
    problems: list[Problem] = field(default_factory=list)
    bundle_sha256: str | None = None
    files: list[str] = field(default_factory=list)
    facts_read: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the policy may go live."""
        return not self.problems


def check_policy(policy_dir: Path) -> CheckReport:
    """Compile ``policy_dir`` with both engines and check the facts it reads."""
    report = CheckReport(Path(policy_dir))
    opa = OpaPolicy(report.directory, tests=True)
    report.problems += opa.problems
    bundle: PolicyBundle | None = None
    try:
        bundle = PolicyBundle.load(report.directory)
    except PolicyError as exc:
        for part in exc.message.split("; "):
            report.problems += problems_from_error(part, "regopy")
    if bundle is not None:
        report.bundle_sha256, report.files = bundle.sha256, list(bundle.files)
    report.facts_read, unsupplied = scan_facts(report.directory)
    report.problems += unsupplied
    if not report.problems:
        report.problems += _sample_decisions(opa, report.directory)
    return report


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == "\\" and quote == '"':
                continue
            if ch == quote and line[i - 1] != "\\":
                quote = ""
        elif ch in '"`':
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def scan_facts(policy_dir: Path) -> tuple[list[str], list[Problem]]:
    """Return the facts the policy reads, and a problem for each the gatherer lacks."""
    read: set[str] = set()
    problems = []
    for name in rego_files(policy_dir, tests=False):
        lines = (policy_dir / name).read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            for match in _FACT_REF.finditer(_strip_comment(line)):
                fact = match.group(1) or match.group(2)
                read.add(fact)
                if fact not in FACT_KEYS:
                    message = (
                        f"reads the fact stats.{fact}, which the facts gatherer does not "
                        f"supply (it supplies {', '.join(FACT_KEYS)})"
                    )
                    problems.append(Problem(message, name, number, "facts"))
    return sorted(read), problems


def sample_input() -> GateInput:
    """A well-formed gate input carrying one fact of each kind the gatherer supplies."""
    return GateInput(
        action="demo.scale",
        target="demo",
        tier="warn",
        parameters={"replicas": 2},
        incident=IncidentRef(
            id="check", service="demo", signal="check", severity="low", opened_by="steward-check"
        ),
        requester="steward-check",
        mode="simulate",
        stats=sample_stats(),
        time="2024-05-01T12:00:00+00:00",
        workflow_id="steward-check",
        step=1,
    )


def _sample_decisions(opa: OpaPolicy, policy_dir: Path) -> list[Problem]:
    """Both engines must accept the gatherer's facts: invalid input here is the policy's fault."""
    gate_input = sample_input()
    decisions = {
        "opa": opa.decide(dataclasses.asdict(gate_input)),
        "regopy": EmbeddedPolicyEngine(policy_dir).evaluate(gate_input),
    }
    return [
        Problem(
            "a decision on facts shaped like the gatherer's is refused: "
            + "; ".join(decision.reasons),
            source=engine,
        )
        for engine, decision in decisions.items()
        if {"invalid_input", "evaluation_error", "undefined_decision"} & set(decision.rules)
    ]


def check_policy_sandboxed(policy_dir: Path) -> CheckReport:
    """:func:`check_policy` for a server: size limits first, then in a limited child process.

    A bundle over a size limit is not compiled at all; one that goes over the sandbox's
    memory or time limit is reported as a problem naming the limit. Either way the calling
    process never compiles the policy itself.
    """
    report = CheckReport(Path(policy_dir))
    settings = get_settings()
    try:
        contents = {
            name: (report.directory / name).read_bytes() for name in policy_files(report.directory)
        }
        check_bundle_size(contents, BundleLimits.from_settings(settings))
    except (OSError, BundleTooLargeError) as exc:
        report.problems.append(Problem(str(exc), source="limits"))
        return report
    try:
        with PolicySandbox(SandboxLimits.for_check(settings), mode="check") as sandbox:
            answer = sandbox.request({"op": "check", "directory": str(report.directory.resolve())})
    except PolicyError as exc:
        report.problems.append(Problem(exc.message, source="sandbox"))
        return report
    report.bundle_sha256 = answer["bundle_sha256"]
    report.files, report.facts_read = answer["files"], answer["facts_read"]
    report.problems = [Problem(**problem) for problem in answer["problems"]]
    return report


def request_reload(
    session: Session, policy_dir: Path, principal: str, reason: str
) -> tuple[CheckReport, PolicyChange]:
    """Check the policy (in the sandbox) and record a reload, or a refused one, with who and why.

    Workers reload when they see a newer ``reload`` record; a refused one changes nothing,
    so the running bundle keeps deciding.
    """
    report = check_policy_sandboxed(policy_dir)
    detail: dict[str, object] = {"directory": str(report.directory)}
    if report.ok:
        detail["bundle_sha256"] = report.bundle_sha256
    else:
        detail["problems"] = [str(p) for p in report.problems]
    change = runtime.record_reload(session, principal, reason, detail, refused=not report.ok)
    return report, change
