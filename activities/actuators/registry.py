"""The actuator and check registries.

Engineers add an actuator by decorating a class::

    @actuator("demo.scale", tier="warn", params=ScaleParams)
    class Scale(Actuator[ScaleParams]):
        async def snapshot(self, ctx, p): ...
        async def apply(self, ctx, p): ...
        async def undo(self, ctx, p, before): ...

An actuator without ``undo`` must say ``irreversible=True``; registration fails otherwise,
so nobody ships an action that compensation would silently skip.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from activities.policy.types import TIERS
from api.core.settings import Settings

P = TypeVar("P", bound=BaseModel)


class UnknownNameError(LookupError):
    """An actuator or check name that is not registered."""


class InvalidParametersError(ValueError):
    """Parameters that do not match an actuator's or check's schema."""


@dataclass
class ActuatorContext:
    """What an actuator may use: the worker's shared clients, settings and its idempotency key.

    Attributes:
        http: The worker's shared HTTP client.
        settings: The worker's settings.
        idempotency_key: ``<workflow id>:<step>`` for apply (``:undo`` appended for undo).
        database: The worker's app database, for actuators and checks that keep state there
            (``webhooks.replay``); None where no database was given.
    """

    http: httpx.AsyncClient
    settings: Settings
    idempotency_key: str = ""
    database: Engine | None = None

    def app_database(self) -> Engine:
        """Return :attr:`database`.

        Raises:
            RuntimeError: The worker built this context without a database.
        """
        if self.database is None:
            raise RuntimeError("this actuator needs the app database; the context has none")
        return self.database


@dataclass
class CheckResult:
    """The outcome of one verification check."""

    ok: bool
    observed: dict[str, Any]
    detail: str


class IrreversibleError(RuntimeError):
    """Undo was asked of an actuator that declared itself irreversible."""


class Actuator(ABC, Generic[P]):
    """Base class of every actuator. Subclasses are registered with :func:`actuator`."""

    name: ClassVar[str]
    tier: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    irreversible: ClassVar[bool]
    description: ClassVar[str]

    def target(self, settings: Settings, p: P) -> str:
        """Return the service or system this call changes (used by policy)."""
        return str(getattr(p, "service", "") or self.name.split(".")[0])

    async def snapshot(self, ctx: ActuatorContext, p: P) -> dict[str, Any]:
        """Return the before-state that :meth:`undo` needs. Default: nothing to keep."""
        return {}

    @abstractmethod
    async def apply(self, ctx: ActuatorContext, p: P) -> dict[str, Any]:
        """Perform the change; must be safe to retry with the same idempotency key."""

    async def undo(self, ctx: ActuatorContext, p: P, before: dict[str, Any]) -> dict[str, Any]:
        """Restore ``before``. Actuators that declare ``irreversible=True`` keep this default."""
        raise IrreversibleError(f"{self.name} is irreversible")

    def plan(self, p: P) -> str:
        """Describe what :meth:`apply` would do, for simulate mode."""
        return f"{self.name} {p.model_dump(mode='json')}"


class Check(ABC, Generic[P]):
    """Base class of every verification check. Subclasses are registered with :func:`check`."""

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    description: ClassVar[str]

    @abstractmethod
    async def run(self, ctx: ActuatorContext, p: P) -> CheckResult:
        """Observe the target once and say whether it is healthy."""


ACTUATORS: dict[str, Actuator[Any]] = {}
CHECKS: dict[str, Check[Any]] = {}

A = TypeVar("A", bound=type[Actuator[Any]])
C = TypeVar("C", bound=type[Check[Any]])


def actuator(
    name: str, *, tier: str, params: type[BaseModel], irreversible: bool = False
) -> Callable[[A], A]:
    """Register an actuator class under ``name`` with its tier and parameter schema."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")

    def register(cls: A) -> A:
        has_undo = cls.undo is not Actuator.undo
        if not has_undo and not irreversible:
            raise TypeError(f"actuator {name} must define undo() or declare irreversible=True")
        cls.name, cls.tier, cls.params_model = name, tier, params
        cls.irreversible = irreversible
        cls.description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        ACTUATORS[name] = cls()
        return cls

    return register


def check(name: str, *, params: type[BaseModel]) -> Callable[[C], C]:
    """Register a verification check class under ``name``."""

    def register(cls: C) -> C:
        cls.name, cls.params_model = name, params
        cls.description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        CHECKS[name] = cls()
        return cls

    return register


def _lookup(registry: dict[str, Any], kind: str, name: str) -> Any:
    load_builtin()
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise UnknownNameError(f"unknown {kind} {name!r}; known {kind}s: {known}") from None


def get_actuator(name: str) -> Actuator[Any]:
    """Return the registered actuator, or raise :class:`UnknownNameError` listing known ones."""
    return _lookup(ACTUATORS, "actuator", name)  # type: ignore[no-any-return]


def get_check(name: str) -> Check[Any]:
    """Return the registered check, or raise :class:`UnknownNameError` listing known ones."""
    return _lookup(CHECKS, "check", name)  # type: ignore[no-any-return]


def parse_params(model: type[BaseModel], params: dict[str, Any], name: str) -> BaseModel:
    """Validate ``params`` against ``model``; errors name each offending field."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidParametersError(f"invalid parameters for {name}: {problems}") from None


def load_builtin() -> None:
    """Import the built-in actuator and check modules so they register themselves."""
    from activities.actuators import demo, http, notify, webhooks  # noqa: F401


def describe_actuators() -> list[dict[str, Any]]:
    """Return a catalogue of registered actuators (name, tier, reversibility, JSON schema)."""
    load_builtin()
    return [
        {
            "name": a.name,
            "tier": a.tier,
            "reversible": not a.irreversible,
            "description": a.description,
            "params_schema": a.params_model.model_json_schema(),
        }
        for a in sorted(ACTUATORS.values(), key=lambda a: a.name)
    ]
