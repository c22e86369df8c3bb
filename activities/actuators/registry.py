"""The actuator and check registries.

Engineers write an actuator by decorating a class::

    @actuator("demo.scale", tier="warn", params=ScaleParams)
    class Scale(Actuator[ScaleParams]):
        async def snapshot(self, ctx, p): ...
        async def apply(self, ctx, p): ...
        async def undo(self, ctx, p, before): ...

An actuator without ``undo`` must say ``irreversible=True``; the decorator and registration
refuse it otherwise, so nobody ships an action that compensation would silently skip.

The decorator only declares; :data:`ACTUATORS` and :data:`CHECKS` hold what
``activities.plugins`` registered from entry points and plugin modules (the shipped actuators
included), loaded on first use.
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
        before: For apply: the snapshot taken before the call was approved and dispatched
            (None when the actuator takes none). An actuator that writes conditionally (a
            Kubernetes patch at the snapshot's ``resourceVersion``) refuses a target that
            changed since, instead of acting on a state nobody approved.
    """

    http: httpx.AsyncClient
    settings: Settings
    idempotency_key: str = ""
    database: Engine | None = None
    before: dict[str, Any] | None = None

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


class ActionRefusedError(RuntimeError):
    """Raise from an actuator or check when no retry can help.

    A command that exited non-zero, a host key that does not match, a target that answered
    "no": the step fails at once with this message, instead of being retried as a transient
    failure (a lost connection, a timeout) is.
    """


class IrreversibleError(RuntimeError):
    """Undo was asked of an actuator that declared itself irreversible."""


class Actuator(ABC, Generic[P]):
    """Base class of every actuator. Subclasses are registered with :func:`actuator`."""

    name: ClassVar[str]
    tier: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    irreversible: ClassVar[bool]
    description: ClassVar[str]
    # The class that @actuator declared (a subclass of it inherits the attributes, not this).
    declared_by_decorator: ClassVar[type | None] = None

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

    async def observe(self, ctx: ActuatorContext, p: P) -> dict[str, Any] | None:
        """Facts about the target, read from it now, for the policy; None when there are none.

        The gate puts them in the policy's input as ``stats.target``, and records them with
        the decision. Blast radius then decides on what is really there, not on what the
        playbook's parameters claim: the conventional keys ``replicas_total``,
        ``replicas_affected``, ``namespaces`` and ``targets`` replace the parameters of the
        same names. Other keys are there for custom rules. It must never write to the target.
        """
        return None

    async def diff(self, ctx: ActuatorContext, p: P) -> list[dict[str, Any]] | None:
        """What :meth:`apply` would change, without changing anything; None when unknown.

        Read the target's state (or ask it for a dry run) and return
        ``activities.actuators.diff.field_changes(before, after)``. Approval requests and
        simulate-mode plans show it. It must never write to the target.
        """
        return None


class Check(ABC, Generic[P]):
    """Base class of every verification check. Subclasses are registered with :func:`check`."""

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]
    description: ClassVar[str]
    # The class that @check declared.
    declared_by_decorator: ClassVar[type | None] = None

    @abstractmethod
    async def run(self, ctx: ActuatorContext, p: P) -> CheckResult:
        """Observe the target once and say whether it is healthy."""


# Filled in place by activities.plugins (importers keep a reference to these objects).
ACTUATORS: dict[str, Actuator[Any]] = {}
CHECKS: dict[str, Check[Any]] = {}

A = TypeVar("A", bound=type[Actuator[Any]])
C = TypeVar("C", bound=type[Check[Any]])


def refuse_without_undo(cls: type[Actuator[Any]], name: str, irreversible: bool) -> None:
    """Refuse an actuator class that neither defines ``undo`` nor declares itself irreversible.

    Raises:
        TypeError: Naming the actuator.
    """
    if cls.undo is Actuator.undo and not irreversible:
        raise TypeError(f"actuator {name} must define undo() or declare irreversible=True")


def actuator(
    name: str, *, tier: str, params: type[BaseModel], irreversible: bool = False
) -> Callable[[A], A]:
    """Declare an actuator class: its name, tier and parameter schema.

    Raises:
        ValueError: ``tier`` is not a tier.
        TypeError: The class has no ``undo`` and is not declared irreversible.
    """
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")

    def declare(cls: A) -> A:
        refuse_without_undo(cls, name, irreversible)
        cls.name, cls.tier, cls.params_model = name, tier, params
        cls.irreversible = irreversible
        cls.description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        cls.declared_by_decorator = cls
        return cls

    return declare


def check(name: str, *, params: type[BaseModel]) -> Callable[[C], C]:
    """Declare a verification check class under ``name``."""

    def declare(cls: C) -> C:
        cls.name, cls.params_model = name, params
        cls.description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        cls.declared_by_decorator = cls
        return cls

    return declare


def _lookup(registry: dict[str, Any], kind: str, name: str) -> Any:
    ensure_registered()
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


def ensure_registered() -> None:
    """Load the actuators, checks and sources (``activities.plugins``) unless already loaded.

    Raises:
        PluginError: A plugin cannot be loaded.
    """
    # Imported here: activities.plugins imports this module to fill its registries.
    from activities.plugins import ensure_extensions

    ensure_extensions()


def describe_actuators() -> list[dict[str, Any]]:
    """Return a catalogue of registered actuators (name, tier, reversibility, JSON schema)."""
    ensure_registered()
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
