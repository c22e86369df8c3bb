"""``steward policy``: test, check, lint and reload the Rego policy.

``test``, ``check`` and ``lint`` read only the policy directory. ``reload`` checks it, then
records the reload (or the refusal) in the app database, like ``steward keys``; workers switch
to the new bundle at their next decision. The same reload exists over HTTP for admins
(``POST /api/v1/policy/reload``).
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from api.core.db import get_engine, session_scope
from api.core.settings import get_settings

app = typer.Typer(
    help=(
        "Test, check, lint and reload the Rego policy "
        "(policies/ unless --dir or STEWARD_POLICY_DIR)."
    ),
    no_args_is_help=True,
)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Policy directory (default: settings).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _directory(given: Path | None) -> Path:
    directory = given if given is not None else get_settings().policy_dir
    if not directory.is_dir():
        typer.echo(f"error: {directory} is not a directory", err=True)
        raise typer.Exit(2)
    return directory


@app.command("test")
def test(
    directory: DirOption = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only rules whose package.rule matches.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run every test_* rule of every *_test.rego on the real OPA engine (exit 1 on failure)."""
    # Imported here: loading the OPA engine would slow every other steward command.
    from activities.policy.opa_local import run_tests, summarize

    results, policy = run_tests(_directory(directory), run)
    counts = summarize(results)
    if as_json:
        document = {
            "results": [asdict(r) for r in results],
            "problems": [str(p) for p in policy.problems],
            "summary": counts,
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        for problem in policy.problems:
            typer.echo(f"ERROR {problem}")
        for r in results:
            suffix = f": {r.detail}" if r.detail else ""
            where = f"{r.file}:{r.line}"
            typer.echo(f"{r.outcome.upper():5} {r.package}.{r.rule} ({where}){suffix}")
        typer.echo(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors")
    if policy.problems or not results or counts["fail"] or counts["error"]:
        raise typer.Exit(1)


@app.command("check")
def check(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """Compile the bundle with OPA and regopy and check the facts it reads (exit 1 on errors)."""
    from activities.policy.check import check_policy

    report = check_policy(_directory(directory))
    if as_json:
        document = {
            "ok": report.ok,
            "bundle_sha256": report.bundle_sha256,
            "files": report.files,
            "facts_read": report.facts_read,
            "problems": [asdict(p) for p in report.problems],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        if report.ok:
            typer.echo(f"ok: bundle {report.bundle_sha256} ({len(report.files)} files)")
        else:
            typer.echo(f"{len(report.problems)} problem(s); the bundle must not go live")
    if not report.ok:
        raise typer.Exit(1)


@app.command("lint")
def lint(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """Lint every .rego file: OPA compile, strict checks, opa fmt layout, style (exit 1 on any)."""
    from activities.policy.lint import lint_policy

    report = lint_policy(_directory(directory))
    if as_json:
        document = {
            "ok": report.ok,
            "files": report.files,
            "problems": [asdict(p) for p in report.problems],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        typer.echo(f"{verdict}: {len(report.files)} files linted")
    if not report.ok:
        raise typer.Exit(1)


@app.command("reload")
def reload(
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record).")],
    directory: DirOption = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who asks (default: your login name).")
    ] = None,
) -> None:
    """Check the policy and have workers reload it; a failing bundle is refused (exit 1)."""
    from activities.policy.check import request_reload

    principal = by or f"cli:{getpass.getuser()}"
    with session_scope(get_engine()) as session:
        report, change = request_reload(session, _directory(directory), principal, reason)
    if not report.ok:
        for problem in report.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"refused (change {change.id}); the running bundle stays active", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"reload {change.id}: bundle {report.bundle_sha256}; workers switch at their next decision"
    )
