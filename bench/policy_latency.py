"""Latency of one embedded policy decision over varied gate inputs.

Run ``python -m bench.policy_latency [n]``; prints one JSON object. The target (p99 under
2 ms on a 2-core machine) comes from DESIGN.md.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.types import GateInput, IncidentRef

TARGET_P99_MS = 2.0
WARMUP = 200


def varied_inputs(n: int, seed: int = 7) -> list[GateInput]:
    """Return ``n`` gate inputs that reach every outcome: allow, approval, limit and bad tier."""
    rng = random.Random(seed)
    tiers = ["info", "warn", "critical", "critical", "unknown"]
    actions = ["demo.scale", "demo.scale", "demo.restart", "demo.flag"]
    inputs = []
    for i in range(n):
        action = rng.choice(actions)
        parameters: dict[str, Any] = {"replicas": rng.randint(0, 30)}
        if action != "demo.scale":
            parameters = {"flag": f"f{i % 5}", "enabled": bool(i % 2)}
        inputs.append(
            GateInput(
                action=action,
                target="demo",
                tier=rng.choice(tiers),
                parameters=parameters,
                incident=IncidentRef(f"inc-{i}", "demo", "error_rate", "critical", "detector"),
                requester="ErrorBurstPlaybook",
                mode=rng.choice(["apply", "apply", "simulate"]),
                stats={"recent_actions": rng.randint(0, 10), "verified_success": rng.random()},
                time="2024-05-01T12:00:00",
                workflow_id=f"wf-{i}",
                step=i % 4,
            )
        )
    return inputs


def percentile(sorted_ms: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` (0-100) of an ascending list."""
    rank = max(1, min(len(sorted_ms), round(q / 100 * len(sorted_ms) + 0.5)))
    return sorted_ms[rank - 1]


def run(n: int = 5000) -> dict[str, Any]:
    """Evaluate ``n`` varied inputs after a warm-up and return the latency summary."""
    engine = EmbeddedPolicyEngine()
    for gate_input in varied_inputs(WARMUP, seed=1):
        engine.evaluate(gate_input)
    samples = []
    for gate_input in varied_inputs(n):
        start = time.perf_counter_ns()
        engine.evaluate(gate_input)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return {
        "engine": "embedded",
        "n": n,
        "p50_ms": round(percentile(samples, 50), 4),
        "p99_ms": round(percentile(samples, 99), 4),
        "target_p99_ms": TARGET_P99_MS,
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)))
