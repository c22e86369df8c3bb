"""Signals read off a delivery attempt: status, text patterns and headers.

Every pattern is a named, case-insensitive regular expression, so a verdict can say exactly
which words decided it. URLs, host names and paths are removed from the text first: an endpoint
called ``/webhooks/invalid`` or ``timeout.example.com`` must not read as an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from activities.triage.models import DeliveryAttempt

# Network failures: the request never got an answer, so nothing was processed for sure.
TRANSIENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "connection_refused": re.compile(
        r"connection refused|errno 111\b|econnrefused|actively refused|winerror 10061"
        r"|connect call failed"
    ),
    "dns_failure": re.compile(
        r"name or service not known|nodename nor servname|temporary failure in name resolution"
        r"|getaddrinfo failed|failed to resolve|nameresolutionerror|no address associated"
        r"|could not resolve host|no such host is known|errno -[235]\b|errno 11001\b"
        r"|dns (lookup|resolution)"
    ),
    "timeout": re.compile(
        r"timed? ?out|timeout|deadline exceeded|etimedout|errno 110\b|winerror 10060"
    ),
    "connection_reset": re.compile(
        r"connection reset|reset by peer|errno 104\b|econnreset|connection aborted"
        r"|broken pipe|errno 32\b|winerror 10054"
    ),
    "server_disconnected": re.compile(
        r"server disconnected|remote ?end closed connection|remotedisconnected"
        r"|connection closed|unexpected eof|incompleteread|connection broken"
        r"|peer closed connection|chunkedencodingerror|eof occurred in violation"
        r"|payload is not completed|not enough data to satisfy content length"
        r"|remoteprotocolerror|readerror|writeerror|clientoserror"
    ),
    "network_unreachable": re.compile(
        r"network is unreachable|no route to host|host is unreachable|errno 11[23]\b"
        r"|errno 101\b"
    ),
    "cannot_connect": re.compile(
        r"cannot connect to host|failed to establish a new connection|max retries exceeded"
        r"|connecterror|clientconnectorerror|newconnectionerror|connection error"
        r"|all connection attempts failed"
    ),
    "gateway_error": re.compile(
        r"bad gateway|service (temporarily )?unavailable|gateway time-?out|origin is unreachable"
        r"|web server is down|upstream connect error|no healthy upstream|server is overloaded"
    ),
}

# The receiver read the request and rejected it: resending it unchanged cannot succeed.
PERMANENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "validation_error": re.compile(
        r"validation|validat(e|ing) (failed|error)|schema|unprocessable|field required"
        r"|is required|missing (required )?(field|property|parameter)|malformed"
        r"|json (parse|decode) error|could not parse|cannot deserialize|invalid (payload|json"
        r"|request|body|field|parameter|event|type|value|format|input|content)"
        r"|unexpected (field|property|token)|additional properties"
    ),
    "bad_request": re.compile(r"bad request"),
    "not_found": re.compile(
        r"(?<!host )\bnot found\b|no such (?!host)\w+|unknown (endpoint|route|webhook|path)"
        r"|does not exist|no route matched"
    ),
    "auth_rejected": re.compile(
        r"unauthori[sz]ed|forbidden|access denied|permission denied|invalid (api[ _-]?)?key"
        r"|invalid (access )?token|signature (verification )?(failed|mismatch)"
        r"|invalid signature|authentication (failed|required)|not authenticated|expired token"
    ),
    "method_not_allowed": re.compile(r"method not allowed|method .* not (allowed|supported)"),
    "gone": re.compile(
        r"\b410 gone\b|no longer (exists|available|supported)|endpoint (was )?deleted"
    ),
    "payload_rejected": re.compile(
        r"unsupported media type|payload too large|request entity too large"
        r"|content too large|not acceptable"
    ),
}

# The endpoint's URL itself is unusable: a configuration error no retry can fix.
INVALID_URL = re.compile(
    r"invalid url|no scheme supplied|missingschema|invalidschema|unsupported protocol"
    r"|no connection adapters|request url is missing|unsupportedprotocol|invalidurl"
    r"|url can't contain control characters|failed to parse:|unknown url type"
    r"|not supported url scheme|non-printable ascii character in url|urlschemeunknown"
)

RATE_LIMIT = re.compile(
    r"rate.?limit|too many requests|throttl|quota (exceeded|exhausted)|slow down"
    r"|request limit|limit exceeded|exceeded .*\blimit\b|retry later"
)

# Certificate and protocol mismatches need the endpoint's owner, not a retry.
TLS_PROBLEM = re.compile(
    r"certificate verify failed|certificate_verify_failed|self[- ]signed certificate"
    r"|certificate has expired|hostname mismatch|doesn't match|wrong version number"
    r"|unable to get local issuer|sslv3 alert|tlsv1 alert|unknown ca|ssl: "
)

REDIRECT = re.compile(r"too many redirects|exceeded \d+ redirects|redirect")

_LOCATIONS = re.compile(
    r"""(?:[a-z][a-z0-9+.-]*://[^\s'"<>)]+)"""  # absolute URLs
    r"""|(?:\burl[:=]\s*['"]?[^\s'"]+)"""  # requests' "with url: /path", aiohttp's url='...'
    r"""|(?:\bhost[=\s]['"]?[^\s'",)\]]+)"""  # host='x' or "Cannot connect to host x:443"
    r"""|(?:\b(?:post|put|get|patch)\s+/[^\s'"]*)""",  # "POST /hooks/x"
    re.IGNORECASE,
)

_STATUS_IN_TEXT = (
    re.compile(r"\bhttp/\d(?:\.\d)?\s+(\d{3})\b"),  # status lines
    re.compile(r"\b(\d{3}) (?:client|server) error\b"),  # requests' HTTPError
    re.compile(r"\b(?:client|server|redirect|informational) error '(\d{3})"),  # httpx
    re.compile(r"(?:^|error: )(\d{3}), message='[^']*', url="),  # aiohttp's ClientResponseError
    re.compile(r"<response \[(\d{3})\]>"),  # a requests Response's repr
    re.compile(r"\bstatus(?:[ _]code)?\s*[:=]?\s*(\d{3})\b"),
    re.compile(
        r"\b(\d{3}) (?:bad gateway|service unavailable|gateway time-?out|not found"
        r"|too many requests|internal server error|bad request|unauthorized"
        r"|forbidden|unprocessable entity|method not allowed|gone)\b"
    ),
)


@dataclass(frozen=True)
class Signals:
    """What an attempt says about itself."""

    status: int | None
    status_from_text: bool
    transient: tuple[str, ...]
    permanent: tuple[str, ...]
    rate_limited_text: bool
    rate_limit_exhausted_header: bool
    retry_after_seconds: float | None
    invalid_url: bool
    tls_problem: bool
    redirect: bool

    def names(self) -> tuple[str, ...]:
        """Every signal present, as short names for the audit trail."""
        found = [f"status:{self.status}"] if self.status is not None else []
        found += [f"transient:{name}" for name in self.transient]
        found += [f"permanent:{name}" for name in self.permanent]
        flags = {
            "rate_limit_text": self.rate_limited_text,
            "rate_limit_remaining_0": self.rate_limit_exhausted_header,
            "retry_after": self.retry_after_seconds is not None,
            "invalid_url": self.invalid_url,
            "tls_problem": self.tls_problem,
            "redirect": self.redirect,
        }
        return tuple(found + [name for name, present in flags.items() if present])


def _combined(table: dict[str, re.Pattern[str]]) -> re.Pattern[str]:
    """One alternation of named groups: a single scan finds every pattern of a table."""
    return re.compile("|".join(f"(?P<{name}>{rx.pattern})" for name, rx in table.items()))


_TRANSIENT_ANY = _combined(TRANSIENT_PATTERNS)
_PERMANENT_ANY = _combined(PERMANENT_PATTERNS)
_FLAGS_ANY = _combined({"rate_limit": RATE_LIMIT, "tls_problem": TLS_PROBLEM, "redirect": REDIRECT})
_THREE_DIGITS = re.compile(r"\d{3}")


def matching(combined: re.Pattern[str], text: str) -> tuple[str, ...]:
    """Names of the patterns found in ``text``, in first-seen order."""
    found = dict.fromkeys(match.lastgroup for match in combined.finditer(text) if match.lastgroup)
    return tuple(name for name in found if name is not None)


def scrub_locations(text: str) -> str:
    """Remove URLs, hosts and request paths, which name things rather than describe errors."""
    return _LOCATIONS.sub(" ", text)


def status_in_text(text: str) -> int | None:
    """Find an HTTP status the sender's message reports, e.g. ``404 Client Error``."""
    if not _THREE_DIGITS.search(text):
        return None
    for pattern in _STATUS_IN_TEXT:
        match = pattern.search(text)
        if match and 100 <= int(match.group(1)) <= 599:
            return int(match.group(1))
    return None


def header(headers: dict[str, str], name: str) -> str | None:
    """Return a header's value, matching the name case-insensitively."""
    return lowercase_headers(headers).get(name.lower())


def lowercase_headers(headers: dict[str, str]) -> dict[str, str]:
    """Return the headers keyed by lower-case name, values stripped."""
    return {key.lower(): str(value).strip() for key, value in headers.items()}


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After``: delay seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _remaining_is_zero(lowered: dict[str, str]) -> bool:
    for name in ("x-ratelimit-remaining", "ratelimit-remaining", "x-rate-limit-remaining"):
        value = lowered.get(name)
        if value is not None:
            try:
                return float(value.split(",")[0].split(";")[0]) <= 0
            except ValueError:
                continue
    return False


def read_signals(attempt: DeliveryAttempt) -> Signals:
    """Extract every signal from an attempt."""
    raw_text = attempt.error_text or ""
    text = scrub_locations(raw_text).lower()
    status = attempt.status_code
    from_text = False
    if status is None:
        # Unscrubbed: the status patterns are anchored to their context, and aiohttp's needs
        # the url= that scrubbing removes to tell a response error from a payload error.
        status = status_in_text(raw_text.lower())
        from_text = status is not None
    headers = lowercase_headers(attempt.response_headers)
    flags = matching(_FLAGS_ANY, text)
    return Signals(
        status=status,
        status_from_text=from_text,
        transient=matching(_TRANSIENT_ANY, text),
        permanent=matching(_PERMANENT_ANY, text),
        rate_limited_text="rate_limit" in flags,
        rate_limit_exhausted_header=_remaining_is_zero(headers),
        retry_after_seconds=retry_after_seconds(headers.get("retry-after"), attempt.timestamp),
        invalid_url=bool(INVALID_URL.search(raw_text.lower())),
        tls_problem="tls_problem" in flags,
        redirect="redirect" in flags or (status is not None and 300 <= status < 400),
    )
