"""Latency of one policy decision: embedded (regopy in process) and remote (OPA over HTTP).

Run ``python -m bench.policy_latency [--n N] [--opa-url URL]``; prints one JSON object with
p50/p99 for each engine. The embedded target (p99 under 2 ms on a 2-core machine) comes from
DESIGN.md; the remote engine has no target (it adds a network round trip).

Without ``--opa-url`` the remote engine talks to the OPA REST stand-in the tests use
(``bench/harness/opa_server.py``: the real OPA engine, in process, behind OPA's data API on a
local socket), since no OPA server binary runs here. Point ``--opa-url`` at an
``openpolicyagent/opa`` server (``docker compose up opa``) to measure the real one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import WINDOWS
from activities.policy.remote import RemotePolicyEngine
from activities.policy.types import GateInput, IncidentRef
from api.core.settings import get_settings
from bench.stats import percentile

TARGET_P99_MS = 2.0
WARMUP = 200
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _stats(rng: random.Random) -> dict[str, Any]:
    """Facts shaped like the gatherer's, as busy as a service under remediation gets."""
    groups = [
        [
            rng.choice(["demo.scale", "demo.restart", "notify.log"]),
            rng.choice(["demo", "billing"]),
            rng.choice(["demo", "billing"]),
            rng.choice(["info", "warn", "critical"]),
            *(rng.randint(0, 3) for _ in WINDOWS),
        ]
        for _ in range(rng.randint(0, 6))
    ]
    start = NOW + timedelta(hours=rng.randint(-48, 48))
    freezes = [
        {
            "id": "api-1",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=4)).isoformat(),
            "reason": "release",
        }
    ][: rng.randint(0, 1)]
    return {
        "applied": groups,
        "verified": [int(rng.random() < 0.9) for _ in range(rng.randint(0, 12))],
        "kill_switch": None,
        "freezes": freezes,
    }


def varied_inputs(n: int, seed: int = 7) -> list[GateInput]:
    """Return ``n`` gate inputs reaching every outcome: allow, approval, and many denials."""
    rng = random.Random(seed)
    tiers = ["info", "warn", "critical", "critical", "unknown"]
    actions = ["demo.scale", "demo.scale", "demo.restart", "demo.feature_flag"]
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
                incident=IncidentRef(
                    id=f"inc-{i}",
                    service="demo",
                    signal="error_rate",
                    severity="critical",
                    opened_by="detector",
                ),
                requester="ErrorBurstPlaybook",
                mode=rng.choice(["apply", "apply", "simulate"]),
                stats=_stats(rng),
                time=(NOW + timedelta(seconds=rng.randint(0, 86400))).isoformat(),
                workflow_id=f"wf-{i}",
                step=i % 4,
            )
        )
    return inputs


def summary(engine: str, samples: list[float], **extra: Any) -> dict[str, Any]:
    """Return the p50/p99 summary of latencies in milliseconds."""
    return {
        "engine": engine,
        "n": len(samples),
        "p50_ms": round(percentile(samples, 50), 4),
        "p99_ms": round(percentile(samples, 99), 4),
        **extra,
    }


def run_embedded(n: int) -> dict[str, Any]:
    """Evaluate ``n`` varied inputs in process after a warm-up."""
    engine = EmbeddedPolicyEngine()
    for gate_input in varied_inputs(WARMUP, seed=1):
        engine.evaluate(gate_input)
    samples = []
    for gate_input in varied_inputs(n):
        start = time.perf_counter_ns()
        engine.evaluate(gate_input)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return summary("embedded", samples, target_p99_ms=TARGET_P99_MS)


async def _remote_samples(url: str, n: int) -> list[float]:
    engine = RemotePolicyEngine(url, get_settings().policy_dir, timeout=5)
    try:
        for gate_input in varied_inputs(WARMUP // 4, seed=1):
            await engine.decide(gate_input)
        samples = []
        for gate_input in varied_inputs(n):
            start = time.perf_counter_ns()
            decision = await engine.decide(gate_input)
            samples.append((time.perf_counter_ns() - start) / 1e6)
            if decision.rules == ["evaluation_error"]:
                raise RuntimeError(f"the OPA server at {url} failed: {decision.reasons}")
        return samples
    finally:
        await engine.aclose()


@contextmanager
def _stand_in_server() -> Iterator[str]:
    # The test suite's OPA REST stand-in; imported here so the embedded run needs no tests.
    from bench.harness.opa_server import create_opa_app
    from bench.harness.servers import serve_app

    with serve_app(create_opa_app(get_settings().policy_dir)) as url:
        yield url


def run_remote(n: int, url: str | None) -> dict[str, Any]:
    """Decide ``n`` varied inputs through an OPA server, one request at a time."""
    if url is not None:
        return summary("remote", asyncio.run(_remote_samples(url, n)), server=url)
    with _stand_in_server() as local:
        samples = asyncio.run(_remote_samples(local, n))
    return summary("remote", samples, server="OPA engine behind the REST stand-in")


def main() -> None:
    """Parse arguments, run both benchmarks and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=5000, help="decisions per engine")
    parser.add_argument("--opa-url", help="a running OPA server (default: the stand-in)")
    parser.add_argument("--skip-remote", action="store_true", help="embedded engine only")
    args = parser.parse_args()
    result: dict[str, Any] = {"embedded": run_embedded(args.n)}
    if not args.skip_remote:
        result["remote"] = run_remote(max(1, args.n // 5), args.opa_url)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
