"""``steward audit ...``, ``steward simulate``, ``steward undo`` and ``steward keys ledger``.

These run where the app database and Temporal are reachable (like ``steward keys``), except
``audit verify-pack``, which needs nothing but the pack and the ledger's public key.
Exit codes: 0 success or intact; 1 a check failed, an incompatibility was found, or the undo was
refused; 2 bad input (unknown id, unreadable file); 3 Temporal cannot be reached.
"""

from __future__ import annotations

import asyncio
import gc
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from temporalio.client import Client, WorkflowHistory
from temporalio.runtime import Runtime, TelemetryConfig

from api.cli.audit_render import card_lines, replay_lines
from api.core.db import get_engine
from api.core.settings import get_settings
from api.core.temporal import TemporalUnavailableError, connect
from api.ledger.keys import (
    LedgerKeyError,
    create_ledger_key,
    ledger_signer,
    ledger_verifier,
    parse_public_key,
    public_key_text,
)
from api.services.audit.card import UnknownCardError, decision_card
from api.services.audit.history import HistoryUnavailableError
from api.services.audit.pack import PackError, build_pack
from api.services.audit.pack_verify import verify_pack
from api.services.audit.replay import ReplayOutcome, histories_since, replay_id, replay_one
from api.services.audit.simulate import (
    SimulationInputError,
    read_policy_dir,
    render,
    run_simulation,
)
from api.services.audit.undo import UndoRefusedError, UnknownIncidentError, start_undo
from api.services.audit.verify import UnknownIncidentError as UnknownLedgerIncidentError
from api.services.audit.verify import verify_ledger

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3
T = TypeVar("T")

app = typer.Typer(
    help="Verify the evidence ledger, export and check evidence packs, replay histories.",
    no_args_is_help=True,
)


def _fail(code: int, message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _with_client(work: Callable[[Client], Awaitable[T]]) -> T:
    """Connect to Temporal and run ``work``; an unreachable server is exit code 3.

    The client gets a runtime of its own, dropped (and its threads stopped) before this returns:
    core threads still alive at interpreter exit can abort the process (sdk-python issue 300).
    """
    settings = get_settings()
    runtime: Runtime | None = Runtime(telemetry=TelemetryConfig())

    async def main() -> T:
        try:
            client = await connect(settings, runtime)
        except Exception as exc:  # any connect failure means the same to the user
            raise _Unreachable(f"Temporal at {settings.temporal_address}: {exc}") from None
        try:
            return await work(client)
        except TemporalUnavailableError as exc:
            raise _Unreachable(str(exc)) from None

    try:
        return asyncio.run(main())
    except _Unreachable as exc:
        _fail(EXIT_UNREACHABLE, str(exc))
    finally:
        runtime = None
        gc.collect()


class _Unreachable(Exception):
    """Temporal could not be reached."""


@app.command("verify")
def verify(
    incident: Annotated[str | None, typer.Option(help="Check only this incident.")] = None,
    history: Annotated[
        bool, typer.Option(help="Cross-check applied actions against Temporal history.")
    ] = True,
) -> None:
    """Check the ledger's hash chains and signatures, and cross-check Temporal history."""
    engine, verifier = get_engine(), ledger_verifier(get_settings())

    async def work(client: Client | None) -> Any:
        return await verify_ledger(engine, verifier, client, incident)

    try:
        report = _with_client(work) if history else asyncio.run(work(None))
    except UnknownLedgerIncidentError as exc:
        _fail(EXIT_USAGE, str(exc))
    scope = f"incident {incident}" if incident else f"{len(report.incidents)} incident(s)"
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if report.ok:
        typer.echo(f"ledger intact: {report.entries} entries, {scope}")
        return
    typer.echo(f"ledger BROKEN ({report.entries} entries, {scope}):")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    raise typer.Exit(EXIT_FAILED)


@app.command("export")
def export(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the zip.")],
) -> None:
    """Write the incident's signed evidence pack."""
    engine, signer = get_engine(), ledger_signer(get_settings())
    try:
        data, warnings = _with_client(lambda c: build_pack(engine, signer, c, incident_id))
    except (PackError, HistoryUnavailableError) as exc:
        _fail(EXIT_USAGE, str(exc))
    output.write_bytes(data)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {output} ({len(data)} bytes); verify offline with:")
    typer.echo(
        f"  steward audit verify-pack {output} --public-key {public_key_text(signer.public_key)}"
    )


@app.command("verify-pack")
def verify_pack_command(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (zip).")],
    public_key: Annotated[
        str, typer.Option(help="The ledger's public key: base64, PEM, or a file with either.")
    ],
) -> None:
    """Verify an evidence pack offline: signatures, hashes, chain, policies, history."""
    try:
        key = parse_public_key(public_key)
    except (LedgerKeyError, OSError) as exc:
        _fail(EXIT_USAGE, f"--public-key: {exc}")
    if not pack.is_file():
        _fail(EXIT_USAGE, f"{pack}: no such file")
    report = verify_pack(pack, key)
    if report.ok:
        typer.echo(f"pack intact: incident {report.incident_id}, {report.entries} entries")
        return
    typer.echo(f"pack FAILED verification ({pack}):")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    raise typer.Exit(EXIT_FAILED)


@app.command("replay")
def replay(
    target: Annotated[
        str | None, typer.Argument(help="An incident (workflow) id, or an evidence pack .zip.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every workflow.")] = False,
    since: Annotated[
        datetime | None, typer.Option(help="With --all: only workflows started since then.")
    ] = None,
) -> None:
    """Replay histories with the current workflow code; exit 1 on any incompatibility."""
    if (target is None) == (not all_):
        _fail(EXIT_USAGE, "give one incident id or pack, or --all")
    outcomes: list[ReplayOutcome] = []
    if target is not None and target.endswith(".zip"):
        outcomes.append(asyncio.run(replay_one(_pack_history(Path(target)))))
    elif target is not None:
        try:
            outcomes.append(_with_client(lambda c: replay_id(c, target)))
        except HistoryUnavailableError as exc:
            _fail(EXIT_USAGE, str(exc))
    else:

        async def every(client: Client) -> list[ReplayOutcome]:
            return [await replay_one(h) async for h in histories_since(client, since)]

        outcomes = _with_client(every)
    for line in replay_lines(outcomes):
        typer.echo(line)
    if not all(o.compatible for o in outcomes):
        raise typer.Exit(EXIT_FAILED)


def _pack_history(pack: Path) -> WorkflowHistory:
    import zipfile

    try:
        with zipfile.ZipFile(pack) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            return WorkflowHistory.from_json(
                str(manifest["incident_id"]), archive.read("history.json").decode()
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        _fail(EXIT_USAGE, f"{pack}: not a readable evidence pack ({exc})")


@app.command("card")
def card(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the card as JSON.")] = False,
) -> None:
    """Show the incident's decision card."""
    try:
        data = decision_card(get_engine(), ledger_verifier(get_settings()), incident_id)
    except UnknownCardError as exc:
        _fail(EXIT_USAGE, str(exc))
    typer.echo(json.dumps(data, indent=2) if as_json else "\n".join(card_lines(data)))


def simulate(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    policies: Annotated[Path, typer.Option(help="Directory of the what-if policy bundle.")],
    playbook: Annotated[
        str | None, typer.Option(help="Also re-run this playbook in simulate mode.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """What if: re-decide the incident's recorded gate inputs under another policy bundle."""
    settings, engine = get_settings(), get_engine()
    try:
        files = read_policy_dir(policies)
        sim_id, result = _with_client(
            lambda c: run_simulation(c, engine, settings, incident_id, files, playbook)
        )
    except SimulationInputError as exc:
        _fail(EXIT_USAGE, str(exc))
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps({"simulation_id": sim_id, **asdict(result)}, indent=2))
    else:
        typer.echo(f"simulation {sim_id}")
        typer.echo("\n".join(render(result)))
    if result.error:
        raise typer.Exit(EXIT_USAGE)


def undo(incident_id: Annotated[str, typer.Argument(help="Incident id.")]) -> None:
    """Undo an incident's applied actions, newest first; each undo step is gated."""
    settings, engine = get_settings(), get_engine()
    principal = f"cli:{getpass.getuser()}"
    try:
        plan = _with_client(
            lambda c: start_undo(
                c, engine, settings, ledger_verifier(settings), incident_id, principal
            )
        )
    except UnknownIncidentError as exc:
        _fail(EXIT_USAGE, str(exc))
    except UndoRefusedError as exc:
        _fail(EXIT_FAILED, f"undo refused: {exc.reason}")
    typer.echo(f"started {plan.undo_id}: undoing, newest first:")
    for target in reversed(plan.targets):
        typer.echo(f"  step {target.step} {target.actuator} -> restore {json.dumps(target.before)}")
    for label in plan.irreversible:
        typer.echo(f"  irreversible, not undone: {label}")


def keys_ledger(
    rotate: Annotated[
        bool, typer.Option(help="Replace the key; the old public key is kept for verification.")
    ] = False,
) -> None:
    """Create the ledger's Ed25519 signing key (if missing) and print its public key."""
    try:
        signer, created = create_ledger_key(get_settings(), rotate=rotate)
    except LedgerKeyError as exc:
        _fail(EXIT_USAGE, str(exc))
    state = "created" if created else "exists"
    typer.echo(f"ledger key {signer.key_id} {state}; public key for auditors:", err=True)
    typer.echo(public_key_text(signer.public_key))


def register(root: typer.Typer, keys_app: typer.Typer) -> None:
    """Add ``audit``, ``simulate``, ``undo`` to the root app and ``ledger`` to ``keys``."""
    root.add_typer(app, name="audit")
    root.command("simulate")(simulate)
    root.command("undo")(undo)
    keys_app.command("ledger")(keys_ledger)
