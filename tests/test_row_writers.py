"""One writer per row: only ``activities/records/`` writes incident, step and approval rows.

An AST scan of the product (not tests, not migrations), the way ``tests/import_rules.py`` scans
imports. It sees, outside ``activities/records/``:

- a constructor call of a guarded model (``Incident(...)``, so ``session.add(Incident(...))``);
- ``insert``/``update``/``delete`` of a guarded model, its ``__table__``, or a module-level name
  bound to that table;
- ``session.add``/``delete``/``merge`` of, and attribute assignment (plain, augmented, tuple,
  ``setattr``) on, a name it knows holds a guarded row: a parameter or variable annotated with
  the model, a ``.get(Model, ...)`` result, or a name bound (``=`` or ``for``) from an
  expression that contains ``select(Model)``.

It cannot see: rows reached through attributes or containers (``incident.steps[0].status =``,
``rows[0].status =``), rows passed through untyped helpers or returned by functions, raw SQL
text (``text("UPDATE incident ...")``), table objects reached any other way, or a model
imported under an alias. Review still has to catch those.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pytest

from tests.import_rules import REPO, module_name, product_files

GUARDED = frozenset({"Incident", "Step", "Approval", "ApprovalVote", "IncidentEvidence"})
# The one writer, and the places that define or migrate the tables.
ALLOWED = ("activities.records", "api.models", "api.migrations")
WRITES = frozenset({"insert", "update", "delete"})
ROW_METHODS = frozenset({"add", "delete", "merge"})


@dataclass(frozen=True)
class Write:
    """One write of a guarded row found in a module."""

    module: str
    line: int
    what: str


def _model_of(node: ast.expr) -> str | None:
    """``Incident`` for ``Incident``, ``Incident.__table__`` or ``"Incident"``, else None."""
    if isinstance(node, ast.Name) and node.id in GUARDED:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        return _model_of(node.value)
    if isinstance(node, ast.Constant) and node.value in GUARDED:
        return str(node.value)
    return None


def _table_of(node: ast.expr, tables: dict[str, str]) -> str | None:
    """The model of a guarded model, its table, or a module-level name for its table."""
    if isinstance(node, ast.Name) and node.id in tables:
        return tables[node.id]
    return _model_of(node)


def _selects_model(node: ast.AST) -> str | None:
    """The model of a ``select(Model)`` anywhere inside ``node``."""
    for inner in ast.walk(node):
        if (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "select"
            and inner.args
            and (model := _model_of(inner.args[0])) is not None
        ):
            return model
    return None


def _row_source(value: ast.expr) -> str | None:
    """The model of the row(s) an assigned expression yields, when the scan can tell."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "get"
        and value.args
        and (model := _model_of(value.args[0])) is not None
    ):
        return model
    return _selects_model(value)


def _names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for element in target.elts for n in _names(element)]
    return []


def _row_names(function: ast.AST) -> dict[str, str]:
    """Names in ``function`` known to hold guarded rows, with their model."""
    rows: dict[str, str] = {}
    if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        for arg in [*function.args.args, *function.args.kwonlyargs, *function.args.posonlyargs]:
            if arg.annotation is not None and (model := _model_of(arg.annotation)):
                rows[arg.arg] = model
    for node in ast.walk(function):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if model := _model_of(node.annotation):
                rows[node.target.id] = model
        elif isinstance(node, ast.Assign) and (model := _row_source(node.value)):
            rows.update({name: model for t in node.targets for name in _names(t)})
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension) and (
            model := _selects_model(node.iter)
        ):
            rows.update({name: model for name in _names(node.target)})
    return rows


def _assigned_attributes(node: ast.AST) -> list[ast.Attribute]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    found: list[ast.Attribute] = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        elif isinstance(target, ast.Attribute):
            found.append(target)
    return found


def writes_in(source: str, module: str) -> list[Write]:
    """Every write of a guarded row the scan can see in ``source``."""
    tree = ast.parse(source)
    # Module-level names for a guarded table (``_STEP = Step.__table__``).
    tables = {
        name: model
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
        if (model := _model_of(node.value)) is not None
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        for name in _names(target)
    }
    found: set[Write] = set()
    scopes = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)),
    ]
    for scope in scopes:
        rows = _row_names(scope)
        for node in ast.walk(scope):
            for attribute in _assigned_attributes(node):
                if isinstance(attribute.value, ast.Name) and attribute.value.id in rows:
                    model = rows[attribute.value.id]
                    found.add(Write(module, node.lineno, f"sets {model}.{attribute.attr}"))
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in GUARDED:
                found.add(Write(module, node.lineno, f"constructs {func.id}"))
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in WRITES and node.args and (model := _table_of(node.args[0], tables)):
                found.add(Write(module, node.lineno, f"{name}({model})"))
            if isinstance(func, ast.Attribute) and func.attr in ROW_METHODS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in rows:
                    found.add(Write(module, node.lineno, f"{func.attr}s a {rows[first.id]} row"))
            if isinstance(func, ast.Name) and func.id == "setattr" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in rows:
                    found.add(Write(module, node.lineno, f"setattr on a {rows[first.id]} row"))
    return sorted(found, key=lambda w: (w.line, w.what))


def _allowed(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in ALLOWED)


def test_only_the_records_package_writes_incident_step_and_approval_rows() -> None:
    outside = [
        f"{w.module}:{w.line} {w.what}"
        for path in product_files()
        if not _allowed(module := module_name(path))
        for w in writes_in(path.read_text(), module)
    ]
    assert outside == []


def test_the_records_package_is_where_the_writes_are() -> None:
    # The scan sees the real writers: a scan that sees nothing would pass the test above too.
    seen = {
        w.what
        for path in (REPO / "activities" / "records").glob("*.py")
        for w in writes_in(path.read_text(), module_name(path))
    }
    assert {"constructs Incident", "constructs Approval", "constructs ApprovalVote"} <= seen
    assert {"constructs IncidentEvidence", "update(Step)", "insert(Incident)"} <= seen
    assert {"sets Incident.status", "sets Approval.status", "adds a Approval row"} <= seen


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("session.add(Incident(id='x'))", "constructs Incident"),
        ("connection.execute(update(Step).values(status='x'))", "update(Step)"),
        ("connection.execute(insert(Incident.__table__))", "insert(Incident)"),
        (
            "def f(session):\n    row = session.get(Incident, 'x')\n    row.status = 'failed'",
            "sets Incident.status",
        ),
        ("def f(session, row: Incident):\n    session.delete(row)", "deletes a Incident row"),
        (
            "def f(session):\n"
            "    for a in session.exec(select(Approval).where(Approval.status == 'p')).all():\n"
            "        a.status, a.decided_at = 'timeout', now",
            "sets Approval.status",
        ),
        ("def f(row: 'Step'):\n    row.tier += 'x'", "sets Step.tier"),
        (
            "def f(v: ApprovalVote):\n    setattr(v, 'comment', 'x')",
            "setattr on a ApprovalVote row",
        ),
    ],
)
def test_the_scan_sees_each_kind_of_write(source: str, what: str) -> None:
    assert what in {w.what for w in writes_in(source, "example")}


def test_reads_are_not_writes() -> None:
    source = (
        "def f(session, row: Incident):\n"
        "    other = session.get(Incident, row.id)\n"
        "    names = session.exec(select(Step.name)).all()\n"
        "    return Approval.make_id(row.id, 1), other.status, names\n"
    )
    assert writes_in(source, "example") == []
