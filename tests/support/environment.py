"""Facts of the test world that several suites share: the signing key, binaries of the venv."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

SIGNING_KEY = "test-signing-key-0123456789abcdef"


def binary(name: str) -> str:
    """Return the path of a binary installed with the venv (never downloaded)."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"the {name!r} binary is missing: run 'make test' to install dev extras")
    return found
