"""Fake actuators and checks: the real ones' names, tiers and schemas, recording every call.

A fake takes the place of a registered actuator or check for as long as a
:class:`~steward.testing.PlaybookHarness` runs. The gate still validates the playbook's
parameters against the real schema and the policy still sees the real tier; only the effect
on the target is replaced, by a record of the call.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from activities.actuators.registry import (
    ACTUATORS,
    CHECKS,
    ActionRefusedError,
    Actuator,
    ActuatorContext,
    Check,
    CheckResult,
    UnknownNameError,
)

__all__ = ["FakeActuator", "FakeCall", "FakeCheck"]


@dataclass(frozen=True, kw_only=True)
class FakeCall:
    """One call a fake actuator received.

    Attributes:
        kind: ``snapshot``, ``apply`` or ``undo``.
        params: The validated parameters, as JSON.
        idempotency_key: The key Steward gave the call (``<workflow id>:<step>``, and
            ``:undo`` appended for an undo); empty for a snapshot.
        before: For an undo, the before-state it was asked to restore.
    """

    kind: str
    params: dict[str, Any]
    idempotency_key: str = ""
    before: dict[str, Any] | None = None


@dataclass(kw_only=True)
class FakeActuator:
    """Stands in for the actuator ``name`` and records what Steward asked of it.

    Attributes:
        name: The actuator it replaces.
        before: What its snapshot returns (the before-state an undo gets back). A fake takes
            snapshots when the real actuator does (or, for one that is not installed, when
            ``before`` is given).
        result: What its apply returns.
        fail: When set, apply raises :class:`ActionRefusedError` with this message (a
            final failure: the step fails without retries).
        undo_fails: When set, undo raises :class:`ActionRefusedError` with this message.
        calls: Every call, in order.
    """

    name: str
    before: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    fail: str | None = None
    undo_fails: str | None = None
    calls: list[FakeCall] = field(default_factory=list)

    @property
    def applied(self) -> list[dict[str, Any]]:
        """The parameters of every apply, in order (retries of one step included)."""
        return [c.params for c in self.calls if c.kind == "apply"]

    @property
    def undone(self) -> list[dict[str, Any]]:
        """The before-state of every undo, in order."""
        return [c.before or {} for c in self.calls if c.kind == "undo"]

    @property
    def snapshots(self) -> int:
        """How many snapshots were taken."""
        return sum(1 for c in self.calls if c.kind == "snapshot")


@dataclass(kw_only=True)
class FakeCheck:
    """Stands in for the check ``name``, answering from a script.

    Attributes:
        name: The check it replaces.
        results: One answer per poll, in order; the last one repeats. ``True`` passes,
            ``False`` fails.
        observed: What every answer says it observed.
        polls: The parameters of every poll, in order.
    """

    name: str
    results: list[bool] = field(default_factory=lambda: [True])
    observed: dict[str, Any] = field(default_factory=dict)
    polls: list[dict[str, Any]] = field(default_factory=list)

    def next_result(self) -> bool:
        """The answer to the next poll."""
        if not self.results:
            return True
        return self.results[min(len(self.polls), len(self.results) - 1)]


def _json(params: BaseModel) -> dict[str, Any]:
    return params.model_dump(mode="json")


def _actuator_class(
    fake: FakeActuator, real: Actuator[Any] | None, tier: str | None, params: type[BaseModel] | None
) -> type[Actuator[Any]]:
    """A subclass of the real actuator's class (its ``target`` and ``plan`` kept) that records."""
    base: type[Actuator[Any]] = type(real) if real is not None else Actuator

    class Recording(base):  # type: ignore[valid-type,misc]
        async def snapshot(self, ctx: ActuatorContext, p: BaseModel) -> dict[str, Any]:
            fake.calls.append(FakeCall(kind="snapshot", params=_json(p)))
            return copy.deepcopy(fake.before)

        async def apply(self, ctx: ActuatorContext, p: BaseModel) -> dict[str, Any]:
            fake.calls.append(
                FakeCall(kind="apply", params=_json(p), idempotency_key=ctx.idempotency_key)
            )
            if fake.fail is not None:
                raise ActionRefusedError(fake.fail)
            return copy.deepcopy(fake.result)

        async def undo(
            self, ctx: ActuatorContext, p: BaseModel, before: dict[str, Any]
        ) -> dict[str, Any]:
            fake.calls.append(
                FakeCall(
                    kind="undo",
                    params=_json(p),
                    idempotency_key=ctx.idempotency_key,
                    before=dict(before),
                )
            )
            if fake.undo_fails is not None:
                raise ActionRefusedError(fake.undo_fails)
            return {"restored": dict(before)}

    Recording.name = fake.name
    Recording.tier = tier or (real.tier if real is not None else "")
    Recording.params_model = params or (real.params_model if real is not None else BaseModel)
    Recording.irreversible = real.irreversible if real is not None else False
    Recording.description = f"fake {fake.name}"
    # A fake's target does not exist: facts read from it would deny every call (the policy
    # fails closed on unreadable facts), so a fake reports none, as an actuator without observe.
    Recording.observe = Actuator.observe  # type: ignore[method-assign]
    takes_snapshots = type(real).snapshot is not Actuator.snapshot if real else bool(fake.before)
    if not takes_snapshots:
        # As the real one: no snapshot step at all (the gate tells the workflow to skip it).
        Recording.snapshot = Actuator.snapshot  # type: ignore[method-assign]
    if real is not None and real.irreversible:
        # An irreversible actuator stays irreversible: compensation must skip it, as for real.
        Recording.undo = Actuator.undo  # type: ignore[method-assign]
    return Recording


def fake_actuator_instance(
    fake: FakeActuator,
    *,
    tier: str | None = None,
    params: type[BaseModel] | None = None,
) -> Actuator[Any]:
    """The registry entry that records into ``fake``.

    Args:
        fake: Where the calls are recorded.
        tier: The tier, for an actuator that is not registered (else the real one's).
        params: The parameter schema, for an actuator that is not registered.

    Raises:
        UnknownNameError: ``fake.name`` is not registered and ``tier`` or ``params`` is missing.
    """
    real = ACTUATORS.get(fake.name)
    if real is None and (tier is None or params is None):
        known = ", ".join(sorted(ACTUATORS)) or "none"
        raise UnknownNameError(
            f"unknown actuator {fake.name!r}: give tier= and params= to fake one that is not "
            f"installed; known actuators: {known}"
        )
    return _actuator_class(fake, real, tier, params)()


def fake_check_instance(fake: FakeCheck, *, params: type[BaseModel] | None = None) -> Check[Any]:
    """The registry entry that answers from ``fake``.

    Raises:
        UnknownNameError: ``fake.name`` is not registered and ``params`` is missing.
    """
    real = CHECKS.get(fake.name)
    if real is None and params is None:
        known = ", ".join(sorted(CHECKS)) or "none"
        raise UnknownNameError(
            f"unknown check {fake.name!r}: give params= to fake one that is not installed; "
            f"known checks: {known}"
        )

    class Scripted(Check[Any]):
        async def run(self, ctx: ActuatorContext, p: BaseModel) -> CheckResult:
            ok = fake.next_result()
            fake.polls.append(_json(p))
            return CheckResult(ok=ok, observed=dict(fake.observed), detail=f"scripted {ok}")

    Scripted.name = fake.name
    Scripted.params_model = params or (real.params_model if real is not None else BaseModel)
    Scripted.description = f"fake {fake.name}"
    return Scripted()


class RegistrySwap:
    """Puts fakes into the actuator and check registries and takes them out again."""

    def __init__(self) -> None:
        self._saved: list[tuple[dict[str, Any], str, Any]] = []

    def put(self, registry: dict[str, Any], name: str, entry: Any) -> None:
        """Register ``entry`` under ``name``, remembering what was there first."""
        self._saved.append((registry, name, registry.get(name)))
        registry[name] = entry

    def restore(self) -> None:
        """Put back what every :meth:`put` replaced, newest first."""
        for registry, name, previous in reversed(self._saved):
            if previous is None:
                registry.pop(name, None)
            else:
                registry[name] = previous
        self._saved.clear()
