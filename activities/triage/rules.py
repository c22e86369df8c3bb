"""Triage of failed webhook deliveries into explainable categories.

The rules run in a fixed order and the first that matches decides:

1. a successful attempt is not a failure (unknown, nothing to do);
2. rate limiting: status 429, ``X-RateLimit-Remaining: 0``, ``Retry-After`` with a 503, or
   rate-limit wording;
3. permanent: an invalid endpoint URL, the client-error statuses (400, 401, 403, 404, 405, 410,
   422 and the other 4xx that resending cannot fix), or validation/schema wording without a
   status;
4. the 4xx that are retryable by definition (408, 425) are transient; 409 and 423 are unknown;
5. TLS certificate or protocol mismatches and unfollowed redirects are unknown (the endpoint's
   owner must act);
6. 5xx statuses are transient (501 and 505 are unknown: they will not fix themselves), unless
   the body reads like a validation error, which makes the verdict unknown;
7. network failures without a response (refused, timeout, DNS, reset, disconnect) are transient;
8. anything else is unknown.

Safety: transient means "safe to replay". Only rules 4, 6 and 7 can say it, and no attempt with a
permanent status or wording ever reaches them: when signals conflict (a 404 whose body says
"timeout"), the non-retry category wins with lower confidence.
"""

from __future__ import annotations

from activities.triage.models import Category, DeliveryAttempt, TriageResult
from activities.triage.signals import Signals, read_signals

PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 422})
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425})
AMBIGUOUS_CLIENT_STATUSES = frozenset({409, 423})
SURE_TRANSIENT_STATUSES = frozenset({502, 503, 504, 520, 521, 522, 523, 524, 529})
NOT_SELF_HEALING_SERVER_STATUSES = frozenset({501, 505})

# Confidence of each network signal when it is the only evidence.
NETWORK_CONFIDENCE = {
    "connection_refused": 95,
    "connection_reset": 93,
    "timeout": 92,
    "server_disconnected": 90,
    "dns_failure": 88,
    "network_unreachable": 88,
    "cannot_connect": 86,
    "gateway_error": 86,
}

REPLAY = "replay with exponential backoff"
HOLD = "hold for manual review; do not replay automatically"


def triage(attempt: DeliveryAttempt) -> TriageResult:
    """Classify one delivery attempt; see the module docstring for the rules."""
    signals = read_signals(attempt)
    verdict = (
        _success(attempt, signals)
        or _rate_limited(signals)
        or _permanent(signals)
        or _client_specials(signals)
        or _needs_owner(signals)
        or _server_error(signals)
        or _network(signals)
        or (Category.UNKNOWN, 40, "no known failure signal", HOLD)
    )
    category, confidence, reason, action = verdict
    return TriageResult(
        category=category,
        confidence=confidence,
        reason=reason,
        recommended_action=action,
        retry_after_seconds=signals.retry_after_seconds,
        signals=signals.names(),
    )


Verdict = tuple[Category, int, str, str]


def _status_phrase(signals: Signals) -> str:
    where = " (read from the error text)" if signals.status_from_text else ""
    return f"HTTP {signals.status}{where}"


def _success(attempt: DeliveryAttempt, signals: Signals) -> Verdict | None:
    if attempt.status_code is not None and 200 <= attempt.status_code < 300:
        reason = f"HTTP {attempt.status_code}: the attempt succeeded"
        return Category.UNKNOWN, 90, reason, "nothing to replay"
    return None


def _rate_limited(signals: Signals) -> Verdict | None:
    wait = signals.retry_after_seconds
    action = (
        f"replay after {wait:g}s, at a lower rate"
        if wait is not None
        else "pause this endpoint until its rate-limit window resets, then replay slowly"
    )
    if signals.status == 429:
        confidence = 99 if wait is not None or signals.rate_limit_exhausted_header else 97
        return (
            Category.RATE_LIMITED,
            confidence,
            f"{_status_phrase(signals)} Too Many Requests",
            action,
        )
    if signals.rate_limit_exhausted_header:
        reason = "X-RateLimit-Remaining is 0"
        if signals.status is not None:
            reason += f" on {_status_phrase(signals)}"
        return Category.RATE_LIMITED, 95, reason, action
    if signals.status == 503 and wait is not None:
        return Category.RATE_LIMITED, 90, "HTTP 503 with Retry-After", action
    if signals.rate_limited_text and (signals.status is None or signals.status >= 400):
        return Category.RATE_LIMITED, 85, "rate-limit wording in the response", action
    return None


def _permanent(signals: Signals) -> Verdict | None:
    conflict = bool(signals.transient)
    if signals.invalid_url:
        return (
            Category.PERMANENT_4XX,
            92,
            "the endpoint URL is invalid",
            "do not replay; ask the tenant to fix the endpoint URL",
        )
    status = signals.status
    if status is not None and 400 <= status < 500:
        if status in RETRYABLE_CLIENT_STATUSES | AMBIGUOUS_CLIENT_STATUSES:
            return None
        confidence = 95 if status in PERMANENT_STATUSES else 80
        reason = f"{_status_phrase(signals)}: the receiver rejected the request"
        if signals.permanent:
            confidence = min(confidence + 3, 99)
            reason += f" ({', '.join(signals.permanent)})"
        if conflict:
            # A client error is the receiver's own verdict; words like "timeout" in the body
            # do not make resending safe.
            confidence -= 20
            reason += f"; ignoring conflicting {', '.join(signals.transient)} wording"
        return Category.PERMANENT_4XX, confidence, reason, _fix_action(status)
    if status is None and signals.permanent:
        confidence = 72 if conflict else 85
        reason = f"rejection wording without a status: {', '.join(signals.permanent)}"
        if conflict:
            reason += f" (conflicting {', '.join(signals.transient)} wording; not retrying)"
        return Category.PERMANENT_4XX, confidence, reason, _fix_action(None)
    return None


def _fix_action(status: int | None) -> str:
    what = {
        401: "the endpoint's credentials",
        403: "the endpoint's permissions",
        404: "the endpoint URL",
        405: "the endpoint's accepted methods",
        410: "the endpoint registration (it is gone)",
    }.get(status or 0, "the payload or the receiver's validation")
    return f"do not replay; ask the tenant to fix {what}"


def _client_specials(signals: Signals) -> Verdict | None:
    if signals.status in RETRYABLE_CLIENT_STATUSES:
        return (
            Category.TRANSIENT_ENDPOINT_DOWN,
            85 if signals.status == 408 else 80,
            f"{_status_phrase(signals)}: retryable by definition",
            REPLAY,
        )
    if signals.status in AMBIGUOUS_CLIENT_STATUSES:
        return Category.UNKNOWN, 60, f"{_status_phrase(signals)}: depends on receiver state", HOLD
    return None


def _needs_owner(signals: Signals) -> Verdict | None:
    if signals.tls_problem:
        return (
            Category.UNKNOWN,
            75,
            "TLS certificate or protocol problem at the endpoint",
            "hold; ask the tenant to fix the endpoint's TLS setup, then replay",
        )
    if signals.redirect:
        return (
            Category.UNKNOWN,
            70,
            "the endpoint redirects",
            "hold; ask the tenant to register the final URL",
        )
    return None


def _server_error(signals: Signals) -> Verdict | None:
    status = signals.status
    if status is None or status < 500:
        return None
    if status in NOT_SELF_HEALING_SERVER_STATUSES:
        return Category.UNKNOWN, 65, f"{_status_phrase(signals)}: will not fix itself", HOLD
    if signals.permanent:
        reason = (
            f"{_status_phrase(signals)} but the body reads like a rejection "
            f"({', '.join(signals.permanent)})"
        )
        return Category.UNKNOWN, 55, reason, HOLD
    confidence = 95 if status in SURE_TRANSIENT_STATUSES else 88 if status == 500 else 82
    if signals.transient:
        confidence = min(confidence + 2, 97)
    return (
        Category.TRANSIENT_ENDPOINT_DOWN,
        confidence,
        f"{_status_phrase(signals)}: the receiver failed",
        REPLAY,
    )


def _network(signals: Signals) -> Verdict | None:
    if signals.status is not None or not signals.transient:
        return None
    strongest = max(signals.transient, key=lambda name: NETWORK_CONFIDENCE[name])
    confidence = NETWORK_CONFIDENCE[strongest] + (2 if len(signals.transient) > 1 else 0)
    reason = f"no response: {', '.join(signals.transient)}"
    return Category.TRANSIENT_ENDPOINT_DOWN, min(confidence, 97), reason, REPLAY
