"""Reading stored delivery attempts, as the triage library's ``DeliveryAttempt``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from activities.deliveries.types import DeliveryVerdict
from activities.triage import DeliveryAttempt, TriageResult, triage
from api.models.detection import DeliveryAttemptRow


def to_attempt(row: DeliveryAttemptRow) -> DeliveryAttempt:
    """The library's view of a stored attempt."""
    return DeliveryAttempt(
        id=row.delivery_id,
        tenant=row.tenant,
        endpoint=row.endpoint,
        status_code=row.status_code,
        error_text=row.error_text,
        response_headers={str(k): str(v) for k, v in row.response_headers.items()},
        attempt=row.attempt,
        timestamp=row.timestamp,
    )


def verdict(attempt: DeliveryAttempt, result: TriageResult | None = None) -> DeliveryVerdict:
    """An attempt and its triage as one flat, serialisable verdict."""
    result = result or triage(attempt)
    return DeliveryVerdict(
        delivery_id=attempt.id,
        attempt=attempt.attempt,
        tenant=attempt.tenant,
        endpoint=attempt.endpoint,
        status_code=attempt.status_code,
        timestamp=attempt.timestamp.isoformat() if attempt.timestamp else "",
        category=result.category.value,
        confidence=result.confidence,
        reason=result.reason,
        recommended_action=result.recommended_action,
        safe_to_replay=result.safe_to_replay,
        retry_after_seconds=result.retry_after_seconds,
        signals=list(result.signals),
    )


def _later(a: DeliveryAttemptRow, b: DeliveryAttemptRow) -> bool:
    return (a.attempt, a.timestamp) > (b.attempt, b.timestamp)


def latest_attempts(session: Session, delivery_ids: Iterable[str]) -> dict[str, DeliveryAttemptRow]:
    """The latest attempt (highest number, then latest time) of each delivery that has one."""
    ids = list(dict.fromkeys(delivery_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(DeliveryAttemptRow).where(col(DeliveryAttemptRow.delivery_id).in_(ids))
    ).all()
    latest: dict[str, DeliveryAttemptRow] = {}
    for row in rows:
        current = latest.get(row.delivery_id)
        if current is None or _later(row, current):
            latest[row.delivery_id] = row
    return latest


def tenant_attempts(session: Session, tenant: str, since: datetime) -> list[DeliveryAttemptRow]:
    """Every attempt of ``tenant`` at or after ``since``, oldest first."""
    return list(
        session.exec(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.tenant == tenant, DeliveryAttemptRow.timestamp >= since)
            .order_by(col(DeliveryAttemptRow.timestamp), col(DeliveryAttemptRow.id))
        ).all()
    )


def failures_since(
    session: Session, since: datetime, tenant: str | None = None
) -> list[DeliveryAttemptRow]:
    """Failed attempts (no response, or a status outside 2xx) at or after ``since``."""
    status = col(DeliveryAttemptRow.status_code)
    query = select(DeliveryAttemptRow).where(
        DeliveryAttemptRow.timestamp >= since,
        or_(status.is_(None), status < 200, status >= 300),
    )
    if tenant is not None:
        query = query.where(DeliveryAttemptRow.tenant == tenant)
    return list(session.exec(query).all())


def first_attempt_at(session: Session, tenant: str | None = None) -> datetime | None:
    """When the first stored attempt was made: where observation began."""
    query = select(func.min(DeliveryAttemptRow.timestamp))
    if tenant is not None:
        query = query.where(DeliveryAttemptRow.tenant == tenant)
    first = session.exec(query).one()
    if first is None:
        return None
    # Should the aggregate bypass the column type, SQLite hands back a naive UTC value.
    moment = datetime.fromisoformat(first) if isinstance(first, str) else first
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
