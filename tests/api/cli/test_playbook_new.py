"""``steward playbook new``: what it writes, and what it refuses without writing anything.

That a scaffolded package passes its own tests is proven by the playbook tutorial's test
(tests/docs/test_tutorial_playbook.py), which installs one and runs them.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.services.scaffold import class_name


def new(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["playbook", "new", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_scaffolds_a_package_with_entry_points_tests_and_readme(tmp_path: Path) -> None:
    code, output = new("disk_guard", "--dir", str(tmp_path))
    assert code == 0, output
    package = tmp_path / "disk-guard"
    assert f"created {package}" in output
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "disk_guard/__init__.py",
        "disk_guard/actuators.py",
        "disk_guard/params.py",
        "disk_guard/playbook.py",
        "pyproject.toml",
        "tests/test_disk_guard.py",
    ]
    for source in package.rglob("*.py"):
        ast.parse(source.read_text(), filename=str(source))  # valid Python, every file
    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["name"] == "disk-guard"
    points = project["project"]["entry-points"]
    assert points["steward.playbooks"] == {"disk_guard": "disk_guard.playbook:DiskGuard"}
    assert points["steward.actuators"] == {"disk_guard.set_flag": "disk_guard.actuators:SetFlag"}
    assert points["steward.checks"] == {"disk_guard.healthy": "disk_guard.actuators:Healthy"}
    assert "{{" not in "".join(p.read_text() for p in package.rglob("*") if p.is_file())
    assert [p.name for p in tmp_path.iterdir()] == ["disk-guard"]  # no staging folder left


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Disk", "invalid name"),
        ("d", "invalid name"),
        ("disk-guard", "invalid name"),
        ("disk__guard", "invalid name"),
        ("_disk", "invalid name"),
        ("high_latency", "already installed"),
        ("json", "already exists here"),
        ("lambda", "keyword"),
    ],
)
def test_refuses_a_name_it_cannot_use_and_writes_nothing(
    tmp_path: Path, name: str, reason: str
) -> None:
    code, output = new(name, "--dir", str(tmp_path))
    assert code == 2
    assert reason in output and "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


def test_refuses_an_existing_folder_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "disk-guard").mkdir()
    (tmp_path / "disk-guard" / "mine.txt").write_text("keep me")
    code, output = new("disk_guard", "--dir", str(tmp_path))
    assert code == 2 and "already exists" in output
    assert [p.name for p in (tmp_path / "disk-guard").iterdir()] == ["mine.txt"]
    code, output = new("disk_guard", "--dir", str(tmp_path / "missing"))
    assert code == 2 and "is not a folder" in output


def test_class_names_read_as_python() -> None:
    assert class_name("disk_guard") == "DiskGuard"
    assert class_name("pg2_kill") == "Pg2Kill"
