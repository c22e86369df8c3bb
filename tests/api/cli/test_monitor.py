"""``steward monitor`` against a real API, worker and Temporal dev server."""

from __future__ import annotations

import json

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support import monitors as support_monitors
from tests.support.cli import Steward
from tests.support.monitors import MonitorNames

monitor_names = support_monitors.monitor_names
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_create_list_show_pause_resume_run_and_delete(
    steward: Steward,
    api_keys: dict[str, str],
    worker: Worker,
    temporal_env: WorkflowEnvironment,
    monitor_names: MonitorNames,
) -> None:
    name = monitor_names("cli")
    key = api_keys["engineer"]
    created = await steward(
        "monitor", "create", name,
        "--service", "demo", "--signal", "p95", "--playbook", "high_latency",
        "--series", "latency", "--detector", '{"name": "zscore", "min_history": 5}',
        "--interval", "30", "--window", "600",
        key=key,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert f"Created monitor {name} (Schedule monitor-{name}; runs every 30 s)." in created.stdout

    listed = await steward("monitor", "list", "--json", key=api_keys["auditor"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["source"]["series"] == "latency" and row["detector"]["min_history"] == 5
    table = await steward("monitor", "list", key=api_keys["operator"])
    assert name in table.stdout and "events: latency" in table.stdout

    shown = await steward("monitor", "show", name, key=api_keys["operator"])
    assert shown.exit_code == 0, shown.output
    assert f"schedule   monitor-{name}: active" in shown.stdout
    assert "next run" in shown.stdout

    paused = await steward("monitor", "pause", name, key=key)
    assert paused.exit_code == 0 and f"Monitor {name} is paused." in paused.stdout
    description = await temporal_env.client.get_schedule_handle(f"monitor-{name}").describe()
    assert description.schedule.state.paused
    resumed = await steward("monitor", "resume", name, key=key)
    assert resumed.exit_code == 0 and "runs every 30 s" in resumed.stdout

    ran = await steward("monitor", "run", name, key=key)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.startswith("not_enough_data: score 0.00 (the source returned no points")

    deleted = await steward("monitor", "delete", name, key=key)
    assert deleted.exit_code == 0 and f"Monitor {name} is deleted." in deleted.stdout
    gone = await steward("monitor", "show", name, key=key)
    assert gone.exit_code == 2 and f"error: 404: no monitor '{name}'" in gone.stderr


async def test_bad_input_and_refusals_print_one_line_with_the_exit_code(
    steward: Steward, api_keys: dict[str, str], monitor_names: MonitorNames
) -> None:
    common = ["--service", "demo", "--signal", "p95", "--playbook", "high_latency"]
    unknown = await steward(
        "monitor", "create", monitor_names(), *common, "--query", "up", "--detector", "magic",
        key=api_keys["engineer"],
    )  # fmt: skip
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: 422: detector.name: unknown detector 'magic'")
    both = await steward(
        "monitor", "create", monitor_names(), *common, "--query", "up", "--series", "x",
        key=api_keys["engineer"],
    )  # fmt: skip
    assert both.exit_code == 2 and "give one of --query, --series or --source" in both.stderr
    broken = await steward(
        "monitor", "create", monitor_names(), *common, "--source", "{not json",
        key=api_keys["engineer"],
    )  # fmt: skip
    assert broken.exit_code == 2 and "--source: not valid JSON" in broken.stderr
    refused = await steward(
        "monitor", "create", monitor_names(), *common, "--series", "x", key=api_keys["operator"]
    )
    assert refused.exit_code == 1 and "error: 403: monitors:manage" in refused.stderr


async def test_a_forecast_monitor_runs_from_the_cli(
    steward: Steward, api_keys: dict[str, str], worker: Worker, monitor_names: MonitorNames
) -> None:
    name = monitor_names("fc")
    key = api_keys["engineer"]
    created = await steward(
        "monitor", "create", name, "--kind", "forecast",
        "--service", "demo", "--signal", "p95-forecast", "--playbook", "high_latency",
        "--series", "nothing-here", "--detector", '{"threshold": 500}',
        key=key,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    ran = await steward("monitor", "run", name, key=key)
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.startswith("not_enough_data: none forecast, no breach (the source returned")
    bad = await steward(
        "monitor", "create", monitor_names("fc-bad"), "--kind", "forecast",
        "--service", "demo", "--signal", "x", "--playbook", "high_latency",
        "--series", "s", "--detector", '{"direction": "up"}',
        key=key,
    )  # fmt: skip
    assert bad.exit_code == 2 and "detector.threshold: a finite number is required" in bad.stderr
