"""Parameters of the pack's playbook (pydantic, imported outside the workflow sandbox)."""

from __future__ import annotations

from pydantic import Field

from steward_ssh.names import NAME_PATTERN, UNIT_PATTERN
from workflows.playbook_params import PlaybookParams, VerifyWithin


class UnitRestartParams(PlaybookParams):
    """Parameters of ``ssh_unit_restart``."""

    host: str = Field(pattern=NAME_PATTERN, description="The host's name in the SSH catalog")
    unit: str = Field(pattern=UNIT_PATTERN, description="The unit to restart")
    verify_within_seconds: VerifyWithin = 20
