"""Webhook-delivery triage: explainable categories, a replay advisor, bursts and spikes."""

from activities.triage.bursts import DeliveryFinding, detect_delivery_anomalies
from activities.triage.models import Category, DeliveryAttempt, TriageResult
from activities.triage.replay import Recommendation, ReplayPlan, replay_recommendations
from activities.triage.rules import triage

__all__ = [
    "Category",
    "DeliveryAttempt",
    "DeliveryFinding",
    "Recommendation",
    "ReplayPlan",
    "TriageResult",
    "detect_delivery_anomalies",
    "replay_recommendations",
    "triage",
]
