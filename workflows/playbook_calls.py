"""A static look at what a playbook calls: the actuator and check names in its source.

The worker checks every playbook's ``self.act("name", ...)`` and ``self.verify("name", ...)``
string literals against the registered actuators and checks when it starts, so a typo is
reported then, not when an incident reaches that line. A name computed at run time cannot be
checked this way; the actuator activity still refuses it (non-retryable) when it comes.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from workflows.playbook import Playbook

# Playbook method -> what its first argument names.
CALLS = {"act": "actuator", "verify": "check"}


@dataclass(frozen=True)
class NamedCall:
    """One ``self.act``/``self.verify`` call with a literal name.

    Attributes:
        kind: ``actuator`` or ``check``.
        name: The literal.
        where: ``<file>:<line>``.
    """

    kind: str
    name: str
    where: str


def _own_classes(cls: type[Playbook]) -> list[type]:
    """The playbook and its bases up to (not including) ``Playbook`` itself."""
    return [k for k in cls.__mro__ if issubclass(k, Playbook) and k is not Playbook]


def named_calls(cls: type[Playbook]) -> list[NamedCall]:
    """Return the literal-named ``act``/``verify`` calls in the source of ``cls`` and its bases.

    A class whose source cannot be read (built in memory) contributes nothing.
    """
    calls: list[NamedCall] = []
    for klass in _own_classes(cls):
        try:
            lines, first = inspect.getsourcelines(klass)
            path = inspect.getsourcefile(klass) or klass.__module__
        except (OSError, TypeError):
            continue
        tree = ast.parse(textwrap.dedent("".join(lines)))
        # ast.walk is breadth first: sort by position so calls come in source order.
        nodes = sorted(
            ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))
        )
        for node in nodes:
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target, method = node.func.value, node.func.attr
            if not (isinstance(target, ast.Name) and target.id == "self" and method in CALLS):
                continue
            literal = node.args[0] if node.args else None
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                where = f"{path}:{first + node.lineno - 1}"
                calls.append(NamedCall(CALLS[method], literal.value, where))
    return calls


def unknown_calls(
    playbooks: Mapping[str, type[Playbook]],
    *,
    actuators: Collection[str],
    checks: Collection[str],
) -> list[str]:
    """Describe every literal actuator or check name in ``playbooks`` that is not registered.

    Returns:
        One line per unknown name, e.g. ``playbook p calls unknown actuator 'x.y' (f.py:12)``;
        empty when every name is known.
    """
    known = {"actuator": actuators, "check": checks}
    problems = []
    for name, cls in sorted(playbooks.items()):
        for call in named_calls(cls):
            if call.name not in known[call.kind]:
                problems.append(
                    f"playbook {name} calls unknown {call.kind} {call.name!r} ({call.where})"
                )
    return problems
