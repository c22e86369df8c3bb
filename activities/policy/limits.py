"""Limits on policy bundles a user submits (what-ifs) or reloads, checked before compiling.

A bundle is compiled and evaluated in a sandbox process with a memory and a time limit
(``activities.policy.sandbox``); these size limits come first, so an oversize bundle is
refused without starting anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.core.settings import Settings

DATA_FILE = "data.json"


@dataclass(kw_only=True, frozen=True)
class BundleLimits:
    """The largest bundle accepted.

    Attributes:
        max_bytes: All files together, in UTF-8 bytes.
        max_modules: Number of ``.rego`` modules.
        max_module_bytes: One ``.rego`` module.
        max_data_bytes: ``data.json``.
    """

    max_bytes: int
    max_modules: int
    max_module_bytes: int
    max_data_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BundleLimits:
        """The limits the settings configure (``STEWARD_POLICY_BUNDLE_MAX_BYTES`` etc.)."""
        return cls(
            max_bytes=settings.policy_bundle_max_bytes,
            max_modules=settings.policy_bundle_max_modules,
            max_module_bytes=settings.policy_module_max_bytes,
            max_data_bytes=settings.policy_data_max_bytes,
        )


class BundleTooLargeError(ValueError):
    """A bundle over one of the limits.

    Attributes:
        setting: The environment variable that sets the limit it broke.
        message: What was over which limit.
    """

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(f"{message} ({setting})")
        self.message = f"{message} ({setting})"
        self.setting = setting


def check_bundle_size(files: Mapping[str, str | bytes], limits: BundleLimits) -> None:
    """Refuse ``files`` (contents by relative path) when a limit is exceeded.

    Raises:
        BundleTooLargeError: naming the limit, its value and the setting that raises it.
    """
    sizes = {
        name: len(content.encode() if isinstance(content, str) else content)
        for name, content in files.items()
    }
    modules = [name for name in sizes if name.endswith(".rego")]
    if len(modules) > limits.max_modules:
        raise BundleTooLargeError(
            f"the bundle has {len(modules)} modules, more than the limit of {limits.max_modules}",
            "STEWARD_POLICY_BUNDLE_MAX_MODULES",
        )
    for name in sorted(modules):
        if sizes[name] > limits.max_module_bytes:
            raise BundleTooLargeError(
                f"{name} is {sizes[name]} bytes, more than the module limit of "
                f"{limits.max_module_bytes} bytes",
                "STEWARD_POLICY_MODULE_MAX_BYTES",
            )
    if sizes.get(DATA_FILE, 0) > limits.max_data_bytes:
        raise BundleTooLargeError(
            f"{DATA_FILE} is {sizes[DATA_FILE]} bytes, more than the limit of "
            f"{limits.max_data_bytes} bytes",
            "STEWARD_POLICY_DATA_MAX_BYTES",
        )
    total = sum(sizes.values())
    if total > limits.max_bytes:
        raise BundleTooLargeError(
            f"the bundle is {total} bytes, more than the limit of {limits.max_bytes} bytes",
            "STEWARD_POLICY_BUNDLE_MAX_BYTES",
        )
