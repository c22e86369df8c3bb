"""``steward policy lint``: each check fails a policy written to break it, on the real OPA engine.

Every case writes a small, clean policy package (a policy file and its tests) into a temporary
directory, breaks one thing in it, and expects that one problem at its file and line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.policy.lint import lint_policy
from api.cli.main import app
from tests.activities.policy import GATE_REGO, POLICIES

POLICY = "acme/rules/rules.rego"
TESTS = "acme/rules/rules_test.rego"

GOOD = """# METADATA
# title: Rules
# description: A small policy for the lint tests.
package acme.rules

import data.acme.limits

# Allowed when every item is under the limit.
allow if {
	some item in input.items
	item.size <= limits.max_size
	n := count(input.items)
	n < 10
}

double(x) := y if {
	y := x * 2
}

pair := [1, 2]

raw := `
  spaces, a,b and x:=y are text in a raw string
`
"""

GOOD_TESTS = """package acme.rules_test

import data.acme.rules

test_double if {
	rules.double(2) == 4
}
"""


def write_policy(root: Path, policy: str | None = GOOD, tests: str | None = GOOD_TESTS) -> Path:
    (root / "acme/rules").mkdir(parents=True)
    if policy is not None:
        (root / POLICY).write_text(policy)
    if tests is not None:
        (root / TESTS).write_text(tests)
    return root


def found(root: Path) -> set[tuple[str, str | None, int | None, str]]:
    return {(p.source, p.file, p.line, p.message) for p in lint_policy(root).problems}


def test_the_shipped_policies_pass() -> None:
    report = lint_policy(POLICIES)
    assert report.problems == []
    assert set(report.files) == {
        p.relative_to(POLICIES).as_posix() for p in POLICIES.rglob("*.rego")
    }


def test_the_clean_sample_passes(tmp_path: Path) -> None:
    assert found(write_policy(tmp_path)) == set()


# (what is broken, replaced text, replacement, the problem: source, line, message)
POLICY_CASES = [
    ("spaces", "\tsome item", "    some item", ("fmt", 10, "indent with tabs")),
    ("operator", "n := count", "n:=count", ("fmt", 12, "one space either side of an operator")),
    ("trailing", "pair := [1, 2]", "pair := [1, 2] ", ("fmt", 20, "trailing whitespace")),
    ("comma", "[1, 2]", "[1,2]", ("fmt", 20, "one space after a comma")),
    ("two blanks", "}\n\npair", "}\n\n\npair", ("fmt", 20, "more than one blank line in a row")),
    ("no blank", "}\n\npair", "}\npair", ("fmt", 19, "a blank line must come before a rule")),
    (
        "end",
        "string\n`\n",
        "string\n`\n\n",
        ("fmt", 25, "the file must end with exactly one newline"),
    ),
    ("package", "rules\n\nimport", "rules\nimport", ("fmt", 5, "a blank line must follow")),
    (
        "unused import",
        "<= limits.max_size",
        "<= 10",
        ("strict", 6, "import data.acme.limits unused"),
    ),
    ("unused var", "\tn < 10\n", "", ("strict", 12, "var n unused")),
    ("unused arg", "x * 2", "2", ("strict", 16, "var x unused")),
    ("unused some", "some item in", "some i, item in", ("strict", 10, "var i unused")),
    ("print", "\tn < 10\n", "\tn < 10\n\tprint(n)\n", ("style", 14, "print() left in")),
    ("future", "\n\nimport", "\n\nimport future.keywords.in\nimport", ("style", 6, "deprecated")),
    ("directory", "package acme.rules\n", "package acme.other\n", ("style", 4, "must match")),
    ("metadata", "# METADATA\n", "", ("style", 3, "no # METADATA block")),
    ("v0 syntax", "allow if {", "allow {", ("opa", 9, "`if` keyword is required")),
    (
        "duplicate",
        "import data.acme.limits\n",
        "import data.acme.limits\nimport data.acme.limits\n",
        ("opa", 7, "shadow"),
    ),
    ("deprecated", "\tn < 10\n", "\tany([n < 10])\n", ("opa", 13, "deprecated built-in")),
]


@pytest.mark.parametrize(
    ("old", "new", "problem"), [c[1:] for c in POLICY_CASES], ids=[c[0] for c in POLICY_CASES]
)
def test_each_check_fails_a_policy_that_breaks_it(
    tmp_path: Path, old: str, new: str, problem: tuple[str, int, str]
) -> None:
    assert old in GOOD
    write_policy(tmp_path, GOOD.replace(old, new, 1))
    source, line, message = problem
    matching = [p for p in found(tmp_path) if p[:3] == (source, POLICY, line) and message in p[3]]
    assert matching, sorted(found(tmp_path), key=str)


def test_every_policy_file_needs_tests_beside_it(tmp_path: Path) -> None:
    write_policy(tmp_path, tests=None)
    message = "no rules_test.rego beside it: every policy file has tests"
    assert found(tmp_path) == {("style", POLICY, None, message)}


def test_a_test_package_is_its_directory_plus_test(tmp_path: Path) -> None:
    write_policy(tmp_path, tests=GOOD_TESTS.replace("acme.rules_test", "acme.rulez_test"))
    problem = ("style", TESTS, 1, "package acme.rulez_test must match its directory: acme.rules")
    assert found(tmp_path) == {problem}


def test_a_shipped_file_reports_the_line_it_breaks(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    gate = root / GATE_REGO
    lines = gate.read_text().split("\n")
    at = lines.index("decision := _decide_input(input, config)")
    lines[at] = "decision := d if {\n\tprint(input)\n\td := _decide_input(input, config)\n}"
    gate.write_text("\n".join(lines))
    assert found(root) == {("style", GATE_REGO, at + 2, "print() left in: remove debugging output")}


def test_cli_lint_exits_0_on_the_shipped_policy_and_1_with_located_problems(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["policy", "lint", "--dir", str(POLICIES)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
    write_policy(tmp_path, GOOD.replace("\tn < 10\n", ""))
    result = runner.invoke(app, ["policy", "lint", "--dir", str(tmp_path), "--json"])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["ok"] is False
    assert document["problems"] == [
        {"message": "var n unused", "file": POLICY, "line": 12, "source": "strict"}
    ]
    result = runner.invoke(app, ["policy", "lint", "--dir", str(tmp_path)])
    assert result.output.splitlines() == [
        f"{POLICY}:12: var n unused [strict]",
        "1 problem(s): 2 files linted",
    ]
