"""Bookkeeping of bulk replays: each delivery at most once per request, whatever retries do.

A request (one actuator call: its idempotency key ``<workflow id>:<step>``) first *claims* the
deliveries it will send by inserting ``delivery_replay`` rows as ``pending`` (the primary key
``(request_id, delivery_id)`` admits one row per delivery and request), then sends them, then
records the sender's answers. A retry finds its claims: the settled ones are reported, not
sent again; the pending ones (an attempt died between sending and recording) are sent again
under the same idempotency key, which the sender answers with ``duplicate`` instead of
replaying twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from activities.deliveries.store import latest_attempts, tenant_attempts, to_attempt
from activities.triage import Recommendation, replay_recommendations
from api.models import utcnow
from api.models.detection import DeliveryReplay

# What the sender may answer per delivery; both mean "sent under this request".
SENT = frozenset({"replayed", "duplicate"})


@dataclass
class ReplayBatch:
    """What one attempt of a replay request must send, and what it already knows.

    Attributes:
        request_id: The request (the actuator call's idempotency key).
        recommended: Deliveries the advisor recommends right now.
        to_send: Deliveries to hand to the sender: ``delivery_id``, ``tenant``, ``endpoint``,
            ``attempt``.
        verdicts: Category and confidence of each recommended delivery, by id.
        skipped: Deliveries not sent, with why (``replayed_earlier`` by another request
            after their latest failure).
        truncated: More were recommended than the request's limit admits.
    """

    request_id: str
    recommended: int
    to_send: list[dict[str, Any]] = field(default_factory=list)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False


def _plan(session: Session, tenant: str, since: datetime) -> list[Recommendation]:
    rows = tenant_attempts(session, tenant, since)
    return replay_recommendations((to_attempt(r) for r in rows), tenant, since).recommendations


def _replayed_after(
    session: Session, recommendations: list[Recommendation], request_id: str
) -> dict[str, str]:
    """Deliveries another request already replayed after their latest failure, with its id."""
    latest = {r.attempt.id: r.attempt.timestamp for r in recommendations}
    if not latest:
        return {}
    rows = session.exec(
        select(DeliveryReplay).where(
            col(DeliveryReplay.delivery_id).in_(list(latest)),
            DeliveryReplay.status == "replayed",
            DeliveryReplay.request_id != request_id,
        )
    ).all()
    found: dict[str, str] = {}
    for row in rows:
        failed_at = latest[row.delivery_id]
        if failed_at is not None and row.replayed_at >= failed_at:
            found[row.delivery_id] = row.request_id
    return found


def claim(engine: Engine, request_id: str, tenant: str, since: datetime, most: int) -> ReplayBatch:
    """Decide what this attempt of the request sends, claiming new deliveries as ``pending``.

    Claims already made by an earlier attempt count against ``most``: a retry never widens
    the request.
    """
    with Session(engine) as session:
        recommendations = _plan(session, tenant, since)
        mine = {
            row.delivery_id: row
            for row in session.exec(
                select(DeliveryReplay).where(DeliveryReplay.request_id == request_id)
            ).all()
        }
        batch = ReplayBatch(request_id, len(recommendations))
        batch.verdicts = {
            r.attempt.id: {"category": r.triage.category.value, "confidence": r.triage.confidence}
            for r in recommendations
        }
        earlier = _replayed_after(session, recommendations, request_id)
        send = [d for d, row in mine.items() if row.status == "pending"]
        budget = most - len(mine)
        for recommendation in recommendations:
            delivery = recommendation.attempt.id
            if delivery in mine:
                continue
            if delivery in earlier:
                batch.skipped[delivery] = {"status": "replayed_earlier", "by": earlier[delivery]}
                continue
            if budget <= 0:
                batch.truncated = True
                break
            session.add(DeliveryReplay(request_id=request_id, delivery_id=delivery))
            send.append(delivery)
            budget -= 1
        # The claims are durable before anything is sent: a crash after sending leaves them
        # pending, and the retry resends them under the same key instead of choosing anew.
        session.commit()
        latest = latest_attempts(session, send)
        batch.to_send = [
            {
                "delivery_id": d,
                "tenant": latest[d].tenant,
                "endpoint": latest[d].endpoint,
                "attempt": latest[d].attempt,
            }
            for d in send
            if d in latest
        ]
    return batch


def record(engine: Engine, request_id: str, answers: list[dict[str, Any]], status: int) -> None:
    """Settle the pending claims the sender answered; settled claims never change again."""
    with Session(engine) as session:
        for answer in answers:
            row = session.get(DeliveryReplay, (request_id, str(answer.get("delivery_id"))))
            if row is None or row.status != "pending":
                continue
            sent = answer.get("status") in SENT
            row.status = "replayed" if sent else "failed"
            row.response_status = status
            row.error = None if sent else str(answer.get("error") or answer.get("status"))[:2000]
            row.replayed_at = utcnow()
            session.add(row)
        session.commit()


def report(engine: Engine, batch: ReplayBatch) -> dict[str, Any]:
    """The request's per-delivery results and totals, read back from its claims."""
    with Session(engine) as session:
        rows = session.exec(
            select(DeliveryReplay)
            .where(DeliveryReplay.request_id == batch.request_id)
            .order_by(col(DeliveryReplay.replayed_at), col(DeliveryReplay.delivery_id))
        ).all()
    results = [
        {
            "delivery_id": row.delivery_id,
            "status": row.status,
            **batch.verdicts.get(row.delivery_id, {}),
            **({"error": row.error} if row.error else {}),
        }
        for row in rows
    ]
    results += [{"delivery_id": d, **why} for d, why in batch.skipped.items()]
    totals: dict[str, int] = {}
    for result in results:
        totals[result["status"]] = totals.get(result["status"], 0) + 1
    return {
        "request_id": batch.request_id,
        "recommended": batch.recommended,
        "truncated": batch.truncated,
        "totals": totals,
        "results": results,
    }


def outstanding(engine: Engine, tenant: str, since: datetime, until: datetime) -> list[str]:
    """Recommended deliveries whose latest failure (before ``until``) no request replayed."""
    with Session(engine) as session:
        due = [
            r
            for r in _plan(session, tenant, since)
            if r.attempt.timestamp is not None and r.attempt.timestamp <= until
        ]
        done = _replayed_after(session, due, request_id="")
    return [r.attempt.id for r in due if r.attempt.id not in done]
