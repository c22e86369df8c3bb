"""``steward monitor``: scheduled detections, managed over the API (engineers and admins)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.cli.http import EXIT_USAGE, CliError, api_command, connect
from api.cli.render import moment

app = typer.Typer(
    help="Monitors: a source query scored by a detector on a schedule, opening incidents.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
NameArgument = Annotated[str, typer.Argument(help="The monitor's name.")]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, sort_keys=True))


def _json_object(option: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(EXIT_USAGE, f"{option}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CliError(EXIT_USAGE, f"{option}: expected a JSON object")
    return value


def _source(query: str | None, step: int, series: str | None, source: str | None) -> Any:
    given = [
        name
        for name, value in (("--query", query), ("--series", series), ("--source", source))
        if value
    ]
    if len(given) > 1:
        raise CliError(
            EXIT_USAGE, f"give one of --query, --series or --source, not {' and '.join(given)}"
        )
    if query:
        return {"kind": "prometheus", "query": query, "step_seconds": step}
    if series:
        return {"kind": "events", "series": series}
    return _json_object("--source", source) if source else {}


def _detector(detector: str | None) -> dict[str, Any]:
    # A bare name ("zscore") or the full settings object ('{"name": "zscore", "threshold": 5}').
    if detector is None:
        return {}
    if detector.lstrip().startswith("{"):
        return _json_object("--detector", detector)
    return {"name": detector}


@app.command("create")
@api_command
def create(
    name: NameArgument,
    service: Annotated[str, typer.Option(help="Service the incidents open for.")],
    signal: Annotated[str, typer.Option(help="Signal of the incidents (part of their id).")],
    playbook: Annotated[str, typer.Option(help="Playbook the incidents run.")],
    severity: Annotated[str, typer.Option(help="low, medium, high or critical.")] = "high",
    kind: Annotated[str, typer.Option(help="detect, forecast or deliveries.")] = "detect",
    query: Annotated[str | None, typer.Option(help="PromQL query (a prometheus source).")] = None,
    step: Annotated[int, typer.Option(min=1, help="Query step in seconds, with --query.")] = 15,
    series: Annotated[
        str | None, typer.Option(help="Pushed event series (an events source).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="The source settings as a JSON object.")
    ] = None,
    detector: Annotated[
        str | None, typer.Option(help="A detector name or settings as JSON (default zscore).")
    ] = None,
    interval: Annotated[int, typer.Option(min=1, help="Seconds between runs.")] = 60,
    window: Annotated[int, typer.Option(min=1, help="Seconds of history each run scores.")] = 3600,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a monitor; its Schedule runs it every --interval seconds."""
    body = {
        "name": name,
        "kind": kind,
        "service": service,
        "signal": signal,
        "severity": severity,
        "playbook": playbook,
        "source": _source(query, step, series, source),
        "detector": _detector(detector),
        "interval_seconds": interval,
        "window_seconds": window,
        "paused": paused,
    }
    created = connect().request("POST", "/api/v1/monitors", json=body)
    if as_json:
        _print_json(created)
        return
    state = "paused" if created["paused"] else f"runs every {created['interval_seconds']} s"
    typer.echo(f"Created monitor {created['name']} (Schedule {created['schedule_id']}; {state}).")


@app.command("list")
@api_command
def list_(as_json: JsonOption = False) -> None:
    """List monitors."""
    found = connect().request("GET", "/api/v1/monitors")
    if as_json:
        _print_json(found)
        return
    table = Table(title=f"Monitors ({len(found)})", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("name", "kind", "state", "every", "service", "signal", "playbook", "source"):
        table.add_column(column, overflow="fold")
    for row in found:
        table.add_row(
            *map(
                Text,
                (
                    row["name"],
                    row["kind"],
                    "paused" if row["paused"] else "active",
                    f"{row['interval_seconds']} s",
                    row["service"],
                    row["signal"],
                    row["playbook"],
                    _describe_source(row["source"]),
                ),
            )
        )
    Console().print(table)


def _describe_source(source: dict[str, Any]) -> str:
    if source.get("kind") == "prometheus":
        return f"prometheus: {source.get('query')}"
    if source.get("kind") == "events":
        return f"events: {source.get('series')}"
    return json.dumps(source, sort_keys=True)


@app.command("show")
@api_command
def show(name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a monitor, its Schedule's state, next runs and recent runs."""
    found = connect().request("GET", f"/api/v1/monitors/{name}")
    if as_json:
        _print_json(found)
        return
    schedule = found["schedule"]
    lines = [
        f"monitor {found['name']} ({found['kind']} -> workflow {found['workflow']})",
        f"  schedule   {found['schedule_id']}: {schedule['state']}"
        + (f" ({schedule['error']})" if schedule.get("error") else ""),
        f"  every      {found['interval_seconds']} s over {found['window_seconds']} s of history",
        f"  opens      {found['service']} / {found['signal']} ({found['severity']}) "
        f"-> playbook {found['playbook']}",
        f"  source     {json.dumps(found['source'], sort_keys=True)}",
        f"  detector   {json.dumps(found['detector'], sort_keys=True)}",
        f"  created    {moment(found['created_at'])} UTC by {found['created_by']}",
    ]
    lines += [f"  next run   {moment(t)} UTC" for t in schedule.get("next_runs", [])[:3]]
    lines += [
        f"  ran        {moment(run['started_at'])} UTC  {run['workflow_id']}"
        for run in schedule.get("recent_runs", [])[-5:]
    ]
    Console().print(Text("\n".join(lines)))


@app.command("pause")
@api_command
def pause(name: NameArgument) -> None:
    """Pause a monitor's Schedule."""
    connect().request("POST", f"/api/v1/monitors/{name}/pause")
    typer.echo(f"Monitor {name} is paused.")


@app.command("resume")
@api_command
def resume(name: NameArgument) -> None:
    """Resume a paused monitor."""
    found = connect().request("POST", f"/api/v1/monitors/{name}/resume")
    typer.echo(f"Monitor {name} is active; it runs every {found['interval_seconds']} s.")


@app.command("run")
@api_command
def run(
    name: NameArgument,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the result.")] = True,
    timeout: Annotated[float, typer.Option(min=1, max=120, help="Seconds to wait.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Run a monitor once now (also when paused) and print what it found."""
    answer = connect().request(
        "POST",
        f"/api/v1/monitors/{name}/run",
        params={"wait": str(wait).lower(), "timeout": timeout},
        timeout=timeout + 10,
    )
    if as_json:
        _print_json(answer)
    elif answer["status"] == "started":
        typer.echo(f"Started {answer['workflow_id']}.")
    elif answer["status"] == "failed":
        typer.echo(f"error: run {answer['workflow_id']} failed: {answer['error']}", err=True)
    else:
        typer.echo(_verdict_line(answer["result"]))
    if answer["status"] == "failed":
        raise typer.Exit(1)


def _verdict_line(result: dict[str, Any]) -> str:
    if "breach" in result:
        return _forecast_line(result)
    if "score" not in result:  # another kind's workflow: show what it returned
        return json.dumps(result, sort_keys=True)
    line = f"{result['state']}: score {result['score']:.2f}"
    if result.get("state") != "ok":
        reason = (result.get("explanation") or {}).get("reason")
        return line + (f" ({reason})" if reason else "")
    line += " (anomalous)" if result["anomalous"] else " (normal)"
    if result.get("incident_id"):
        verb = "opened" if result["opened"] else "attached to"
        line += f"; {verb} incident {result['incident_id']}"
    return line


def _forecast_line(result: dict[str, Any]) -> str:
    line = f"{result['state']}: {result['model']} forecast"
    if not result["breach"]:
        return f"{line}, no breach ({result.get('reason') or 'none predicted'})"
    line += f", breach predicted at {result['breach_at']}"
    if result.get("simulated_incident"):
        line += f"; planned in incident {result['simulated_incident']}"
    if result.get("applied_incident"):
        line += f"; applying in incident {result['applied_incident']}"
    elif result.get("reason"):
        line += f" ({result['reason']})"
    return line


@app.command("delete")
@api_command
def delete(name: NameArgument) -> None:
    """Delete a monitor and its Schedule."""
    connect().request("DELETE", f"/api/v1/monitors/{name}")
    typer.echo(f"Monitor {name} is deleted.")
