"""The policy sandbox's child process: compiles and evaluates a bundle a user submitted.

Started by :mod:`activities.policy.sandbox` as ``python -m activities.policy.sandbox_child
MEMORY_MIB MODE``. Once its imports are done it caps its own address space at what it has
plus ``MEMORY_MIB`` (``RLIMIT_AS``), so a bundle that builds a huge value fails an allocation
here, and the parent, which kills it past its time limit too, never grows.

It reads one JSON request per line on stdin and writes one JSON answer per line on the
protocol pipe (the original stdout); anything a library prints goes to stderr instead.
Requests: ``{"op": "load", "files": {...}}``, ``{"op": "decide", "inputs": [...]}``,
``{"op": "check", "directory": "..."}``. Answers carry ``"error"`` when the bundle or an
input is at fault, and ``"limit": "memory"`` when an allocation failed in Python.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from activities.policy.check import check_policy, sample_input
from activities.policy.engine import EmbeddedPolicyEngine, PolicyError
from activities.policy.types import gate_input_from_dict

MODES = ("evaluate", "check")
READY = {"ready": True}
# A bundle built before applied-action facts were rows calls row facts invalid input.
_ROWS_REFUSED = "invalid input: stats.applied"


def address_space_mib() -> int:
    """Return this process's virtual memory size (``VmSize``) in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def limit_memory(extra_mib: int) -> None:
    """Cap the address space at its current size plus ``extra_mib``.

    Relative to the current size because the libraries loaded already reserve far more
    address space than they touch (regopy about 256 GiB of it): an absolute cap would
    mean nothing.
    """
    cap = (address_space_mib() + extra_mib) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


class ChildSession:
    """The bundle loaded by ``load`` and the requests on it."""

    def __init__(self) -> None:
        self.engine: EmbeddedPolicyEngine | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request."""
        op = request.get("op")
        if op == "load":
            return self.load(request["files"])
        if op == "decide":
            return self.decide(request["inputs"])
        if op == "check":
            report = check_policy(Path(request["directory"]))
            return {
                "bundle_sha256": report.bundle_sha256,
                "files": report.files,
                "facts_read": report.facts_read,
                "problems": [asdict(p) for p in report.problems],
            }
        return {"error": f"unknown sandbox request {op!r}"}

    def load(self, files: dict[str, str]) -> dict[str, Any]:
        """Compile the bundle (it is smoke-tested and its data checked as it loads)."""
        with tempfile.TemporaryDirectory(prefix="steward-sandbox-") as folder:
            root = Path(folder)
            for name, text in files.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_text(text)
            try:
                self.engine = EmbeddedPolicyEngine(root)  # compiled in memory: the folder may go
            except PolicyError as exc:
                return {"error": exc.message}
        rows_refused = _ROWS_REFUSED in self.engine.evaluate(sample_input()).reasons
        return {"bundle_sha256": self.engine.bundle_sha256, "reads_applied_rows": not rows_refused}

    def decide(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """Decide each gate input (as recorded: plain dicts) with the loaded bundle."""
        if self.engine is None:
            return {"error": "no bundle loaded"}
        decisions = []
        for doc in inputs:
            try:
                gate_input = gate_input_from_dict(doc)
            except (TypeError, KeyError) as exc:
                return {"error": f"a recorded gate input is malformed: {exc}"}
            decisions.append(asdict(self.engine.evaluate(gate_input)))
        return {"decisions": decisions}


def serve(requests: TextIO, answers: TextIO) -> None:
    """Answer requests until stdin closes."""
    session = ChildSession()
    for line in requests:
        try:
            answer = session.handle(json.loads(line))
        except MemoryError:
            answers.write(json.dumps({"limit": "memory"}) + "\n")
            answers.flush()
            sys.exit(3)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main(argv: list[str]) -> None:
    """Set the memory limit, say ready, and serve."""
    memory_mib, mode = int(argv[1]), argv[2]
    if mode not in MODES:
        raise SystemExit(f"mode must be one of {MODES}")
    # The protocol gets its own descriptor; stray prints of C and Go code go to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    if mode == "check":
        from opa_bindings import OpaEngine

        # Go's runtime reserves its heap's address space on first use: before the cap.
        OpaEngine()
    limit_memory(memory_mib)
    answers.write(json.dumps(READY) + "\n")
    answers.flush()
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main(sys.argv)
