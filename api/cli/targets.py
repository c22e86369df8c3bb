"""``steward targets check``: may the configured credentials do what the Kubernetes actions need?

It reads the service catalog and asks every Kubernetes cluster in it, with the credentials the
actuators use, through ``SelfSubjectAccessReview`` (see :mod:`api.services.targets`); it needs
neither Temporal nor the API. Exit status: 0 every permission is allowed (or there is nothing to
check), 1 something is missing, 2 the catalog or a kubeconfig is unusable or a cluster refuses
the credentials, 3 a cluster cannot be reached. Problems are one line each on stderr.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.core.settings import get_settings
from api.services.targets import Access, TargetsConfigError, TargetsReport, check_targets

app = typer.Typer(help="The targets Steward acts on: what its credentials may do there.")
COLUMNS = ("cluster", "namespace", "resource", "verb", "status", "needed by")
GRANTS = "deploy/kubernetes/steward-rbac.yaml"


def _resource(access: Access) -> str:
    return f"{access.resource}.{access.group}" if access.group else access.resource


def access_table(report: TargetsReport) -> Table:
    """Every answer as a table: cluster, namespace (``(cluster-wide)``), resource, verb."""
    table = Table(
        title=f"Kubernetes permissions ({len(report.accesses)} asked, "
        f"{len(report.missing)} missing)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for a in report.accesses:
        cells = (
            a.cluster,
            a.namespace or "(cluster-wide)",
            _resource(a),
            a.verb,
            "allowed" if a.allowed else "MISSING",
            ", ".join(a.needed_by),
        )
        # Text(...) never parses markup: names are shown as written.
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _summary(report: TargetsReport) -> str:
    if report.missing:
        return (
            f"{len(report.missing)} of {len(report.accesses)} permissions missing: grant them "
            f"to Steward's account (see {GRANTS})."
        )
    return f"All {len(report.accesses)} permissions allowed."


@app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, max=300, help="Seconds each request to a cluster may take.")
    ] = 10.0,
) -> None:
    """Ask every Kubernetes cluster of the catalog whether Steward may do what its actions need."""
    try:
        report = asyncio.run(check_targets(settings=get_settings(), timeout=timeout))
    except TargetsConfigError as error:
        typer.echo(f"steward targets check: {error}", err=True)
        raise typer.Exit(2) from None
    for problem in report.problems:
        typer.echo(f"steward targets check: {problem.message}", err=True)
    if as_json:
        body = {
            "catalog": report.catalog,
            "kubernetes_services": report.kubernetes_services,
            "namespaces": report.namespaces,
            "permissions": [asdict(a) for a in report.accesses],
            "missing": len(report.missing),
            "problems": [asdict(p) for p in report.problems],
        }
        typer.echo(json.dumps(body, sort_keys=True))
        raise typer.Exit(report.exit_code)
    if not report.kubernetes_services:
        typer.echo(f"The service catalog {report.catalog} has no Kubernetes services.")
        if not report.namespaces:
            typer.echo("Nothing to check.")
            raise typer.Exit(0)
        typer.echo("Checking only the node actions' cluster-wide permissions.")
    if report.accesses:
        Console(width=200).print(access_table(report))
        typer.echo(_summary(report))
    raise typer.Exit(report.exit_code)
