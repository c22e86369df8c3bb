"""Checks of ``steward policy lint`` that read a module's syntax tree from the real OPA parser.

There is no ``opa`` binary here, so ``opa check --strict`` is rebuilt from two parts: the
OPA engine's own compile (Rego v1 enforces duplicate imports, deprecated built-ins and
``input``/``data`` shadowing by default) and these checks for what only ``--strict`` adds:
unused imports, unused function arguments and unused local variables (``:=``, ``some``,
``every``). The tree comes from OPA's ``rego.parse_module`` built-in, so it is OPA's own
parse; it carries no rule locations, so a problem's line is found in the source text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from opa_bindings import OpaEngine, OpaError

from activities.policy.opa_local import Problem

_PARSE = "module := rego.parse_module(input.name, input.source)"
# A rule's first line: its name (or ``default name``) at column 0.
_RULE_START = re.compile(r"^(?:default\s+)?([A-Za-z_]\w*)")
_MEMBER = {"member_2": 1, "member_3": 2}  # internal.member_N: how many leading vars it binds


class ModuleParser:
    """Parses Rego modules with OPA's parser (one engine, one prepared query)."""

    def __init__(self) -> None:
        self.engine = OpaEngine()

    def parse(self, *, name: str, source: str) -> dict[str, Any] | None:
        """Return the module's syntax tree, or None when OPA cannot parse it.

        A module that does not parse is reported by the compile step with its location.
        """
        try:
            rows = self.engine.eval_query(_PARSE, {"name": name, "source": source})
        except OpaError:
            return None
        module: dict[str, Any] = rows[0]["module"]
        return module


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every dict in ``tree``, depth first."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _vars(tree: Any) -> Iterator[str]:
    """The name of every variable term in ``tree`` (parser-made ``$N`` wildcards left out)."""
    for node in _nodes(tree):
        if node.get("type") == "var" and not str(node.get("value", "")).startswith("$"):
            yield str(node["value"])


def _is_builtin(term: Any, *names: str) -> bool:
    if not isinstance(term, dict) or term.get("type") != "ref":
        return False
    path = [part.get("value") for part in term.get("value", [])]
    return path in ([name] for name in names) or path in (["internal", name] for name in names)


def _declared(rule: dict[str, Any]) -> Iterator[str]:
    """Variables the rule introduces: arguments, ``:=`` targets, ``some`` and ``every`` vars."""
    yield from _vars(rule.get("head", {}).get("args", []))
    for node in _nodes(rule):
        terms = node.get("terms")
        if isinstance(terms, list) and terms and _is_builtin(terms[0], "assign"):
            yield from _vars(terms[1])
        elif isinstance(terms, dict) and "symbols" in terms:
            for symbol in terms["symbols"]:
                if symbol.get("type") == "var":
                    yield from _vars(symbol)
                elif symbol.get("type") == "call":
                    call = symbol["value"]
                    path = [part.get("value") for part in call[0].get("value", [])]
                    bound = _MEMBER.get(path[-1], 0) if path[:1] == ["internal"] else 0
                    for term in call[1 : 1 + bound]:
                        yield from _vars(term)
        elif isinstance(terms, dict) and "domain" in terms and "body" in terms:
            yield from _vars([terms.get("key"), terms.get("value")])


def unused_in_rule(rule: dict[str, Any]) -> list[str]:
    """Variables a rule declares and never reads (a name seen once is only its declaration).

    Counting over the whole rule is lenient where a name is reused in two comprehensions:
    it may miss an unused variable but never reports a used one.
    """
    seen = Counter(_vars(rule))
    return sorted({name for name in _declared(rule) if name != "_" and seen[name] == 1})


def _import_name(entry: dict[str, Any]) -> str | None:
    path = [part.get("value") for part in entry.get("path", {}).get("value", [])]
    if path[:1] == ["rego"] or path[:2] == ["future", "keywords"]:
        return None  # keyword imports bind no name
    alias = entry.get("alias")
    return str(alias) if alias else str(path[-1])


def _rule_lines(source: str) -> list[tuple[str, int]]:
    lines = source.splitlines()
    found = []
    for number, line in enumerate(lines, start=1):
        match = _RULE_START.match(line)
        if match and match.group(1) not in {"package", "import"}:
            found.append((match.group(1), number))
    return found


def _locate(source: str, start: int, end: int, name: str) -> int:
    """The first line in ``[start, end)`` naming ``name``, else ``start``."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    lines = source.splitlines()
    for number in range(start, min(end, len(lines) + 1)):
        if word.search(lines[number - 1].split("#", 1)[0]):
            return number
    return start


def check_module(*, name: str, source: str, module: dict[str, Any]) -> list[Problem]:
    """The strict and Regal-style problems that the syntax tree of one module shows."""
    problems: list[Problem] = []
    starts = _rule_lines(source)
    used = Counter(_vars(module.get("rules", [])))
    for entry in module.get("imports", []):
        path = ".".join(str(p.get("value")) for p in entry.get("path", {}).get("value", []))
        line = _locate(source, 1, len(source.splitlines()) + 1, f"import {path}")
        if path.startswith("future.keywords"):
            message = f"import {path} is deprecated: Rego v1 has every keyword"
            problems.append(Problem(message, name, line, "style"))
        imported = _import_name(entry)
        if imported is not None and not used[imported]:
            problems.append(Problem(f"import {path} unused", name, line, "strict"))
    rules = module.get("rules", [])
    # Rules come in source order; pair each with its first line by name and order.
    lines_by_name: dict[str, list[int]] = {}
    for rule_name, line in starts:
        lines_by_name.setdefault(rule_name, []).append(line)
    taken: Counter[str] = Counter()
    for rule in rules:
        rule_name = str(rule.get("head", {}).get("name") or _head_name(rule))
        candidates = lines_by_name.get(rule_name, [])
        start = candidates[min(taken[rule_name], len(candidates) - 1)] if candidates else 1
        taken[rule_name] += 1
        end = min((line for _, line in starts if line > start), default=10**9)
        for var in unused_in_rule(rule):
            line = _locate(source, start, end, var)
            problems.append(Problem(f"var {var} unused", name, line, "strict"))
        for node in _nodes(rule):
            if _is_builtin(node, "print"):
                line = _locate(source, start, end, "print")
                message = "print() left in: remove debugging output"
                problems.append(Problem(message, name, line, "style"))
    return problems


def _head_name(rule: dict[str, Any]) -> str:
    ref = rule.get("head", {}).get("ref", [])
    return str(ref[0].get("value", "")) if ref else ""
