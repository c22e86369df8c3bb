"""Monitors: validated settings, stored in ``monitor``, run by a Temporal Schedule.

Every change commits the row first (a short transaction: SQLite's write lock is never held
across a Temporal call), then makes the Schedule match; when Temporal fails, the row change is
undone before the error reaches the caller, so a failed request leaves neither half behind.
Committing the row first also settles concurrent creates of one name in the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import Client

from activities.detection.config import DetectorConfigError, validate_detector
from activities.prediction.config import ForecastConfigError, prediction_settings
from activities.sources.base import SourceConfigError
from activities.sources.registry import validate_source
from api.core.settings import Settings
from api.models.detection import Monitor
from api.schemas.monitors import MonitorCreate, MonitorFields, MonitorUpdate
from api.services import monitor_schedules as schedules
from api.services.incidents import (
    InvalidParamsError,
    UnknownPlaybookError,
    check_params,
    known_playbook,
)

# Kinds whose source and detector settings are this module's to check. Other kinds' workflows
# (e.g. delivery_watch) read settings of their own.
_SCORED_KINDS = {"detect"}
_SOURCED_KINDS = {"detect", "forecast"}
_SETTINGS = (
    "kind",
    "service",
    "signal",
    "severity",
    "playbook",
    "source",
    "detector",
    "interval_seconds",
    "window_seconds",
    "paused",
)


class MonitorInputError(ValueError):
    """A monitor setting is unusable; ``loc`` is the path of the field (as in a 422)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(f"{'.'.join(loc)}: {message}")
        self.loc = loc
        self.message = message


class MonitorNotFoundError(LookupError):
    """No monitor has that name."""


class MonitorExistsError(ValueError):
    """A monitor with that name already exists."""


def validate_fields(
    fields: MonitorFields, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check names against what this Steward knows; return the normalised source and detector.

    Raises:
        MonitorInputError: Naming the field, with the known values when a name is unknown.
    """
    try:
        settings.catalog().service(fields.service)
    except KeyError as exc:
        raise MonitorInputError(("service",), str(exc.args[0])) from None
    try:
        known_playbook(fields.playbook)
    except UnknownPlaybookError as exc:
        raise MonitorInputError(("playbook",), str(exc)) from None
    source, detector = dict(fields.source), dict(fields.detector)
    if fields.kind in _SOURCED_KINDS:
        try:
            source = validate_source(fields.source, fields.window_seconds)
        except SourceConfigError as exc:
            raise MonitorInputError(("source", exc.field), exc.message) from None
    if fields.kind in _SCORED_KINDS:
        try:
            detector = validate_detector(fields.detector)
        except DetectorConfigError as exc:
            raise MonitorInputError(("detector", *exc.field.split(".")), exc.message) from None
    if fields.kind == "deliveries" and "params" in fields.detector:
        # delivery_watch passes these to every incident it opens: check them now, not then.
        params = fields.detector["params"]
        if not isinstance(params, dict):
            raise MonitorInputError(("detector", "params"), "must be an object")
        try:
            check_params(fields.playbook, params)
        except InvalidParamsError as exc:
            first = exc.errors[0]
            raise MonitorInputError(("detector", "params", *first["loc"]), first["msg"]) from None
    if fields.kind == "forecast":
        try:
            prediction_settings(fields.detector)
        except ForecastConfigError as exc:
            raise MonitorInputError(("detector", exc.field), exc.message) from None
    return source, detector


def list_monitors(session: Session) -> list[Monitor]:
    """Every monitor, by name."""
    return list(session.exec(select(Monitor).order_by(col(Monitor.name))).all())


def get_monitor(session: Session, name: str) -> Monitor:
    """The monitor called ``name``.

    Raises:
        MonitorNotFoundError: When there is none.
    """
    row = session.get(Monitor, name)
    if row is None:
        raise MonitorNotFoundError(f"no monitor {name!r}")
    return row


def _snapshot(row: Monitor) -> dict[str, Any]:
    return {key: getattr(row, key) for key in _SETTINGS}


def _restore(session: Session, row: Monitor, before: dict[str, Any]) -> None:
    session.rollback()
    for key, value in before.items():
        setattr(row, key, value)
    session.add(row)
    session.commit()


async def create_monitor(
    client: Client, session: Session, settings: Settings, body: MonitorCreate, created_by: str
) -> Monitor:
    """Store a monitor and create its Schedule.

    Raises:
        MonitorInputError: A setting is unusable.
        MonitorExistsError: The name is taken.
        ScheduleUnavailableError: Temporal failed; nothing is stored.
    """
    source, detector = validate_fields(body, settings)
    if session.get(Monitor, body.name) is not None:
        raise MonitorExistsError(f"monitor {body.name!r} already exists")
    row = Monitor(
        name=body.name,
        kind=body.kind,
        service=body.service,
        signal=body.signal,
        severity=body.severity,
        playbook=body.playbook,
        source=source,
        detector=detector,
        interval_seconds=body.interval_seconds,
        window_seconds=body.window_seconds,
        paused=body.paused,
        created_by=created_by,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise MonitorExistsError(f"monitor {body.name!r} already exists") from None
    try:
        await schedules.create_schedule(client, row, settings)
    except BaseException:
        session.rollback()
        session.delete(row)
        session.commit()
        raise
    return row


async def update_monitor(
    client: Client, session: Session, settings: Settings, name: str, body: MonitorUpdate
) -> Monitor:
    """Replace a monitor's settings and its Schedule's.

    Raises:
        MonitorNotFoundError: No such monitor.
        MonitorInputError: A setting is unusable.
        ScheduleUnavailableError: Temporal failed; the old settings are kept.
    """
    row = get_monitor(session, name)
    source, detector = validate_fields(body, settings)
    before = _snapshot(row)
    values = body.model_dump(exclude={"paused"})
    values.update(source=source, detector=detector)
    if body.paused is not None:
        values["paused"] = body.paused
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    session.commit()
    try:
        await schedules.sync_schedule(client, row, settings)
    except BaseException:
        _restore(session, row, before)
        raise
    return row


async def set_paused(
    client: Client, session: Session, settings: Settings, name: str, paused: bool
) -> Monitor:
    """Pause or resume a monitor's Schedule (a missing Schedule is recreated).

    Raises:
        MonitorNotFoundError: No such monitor.
        ScheduleUnavailableError: Temporal failed; the state is unchanged.
    """
    row = get_monitor(session, name)
    before = _snapshot(row)
    row.paused = paused
    session.add(row)
    session.commit()
    try:
        await schedules.sync_schedule(client, row, settings)
    except BaseException:
        _restore(session, row, before)
        raise
    return row


async def delete_monitor(client: Client, session: Session, settings: Settings, name: str) -> None:
    """Delete a monitor and its Schedule (runs already going finish on their own).

    Raises:
        MonitorNotFoundError: No such monitor.
        ScheduleUnavailableError: Temporal failed; the monitor is kept.
    """
    row = get_monitor(session, name)
    await schedules.delete_schedule(client, name)
    try:
        session.delete(row)
        session.commit()
    except BaseException:
        # The row stays, so the Schedule must come back: put it back as it was.
        session.rollback()
        kept = session.get(Monitor, name)
        if kept is not None:
            await schedules.create_schedule(client, kept, settings)
        raise
