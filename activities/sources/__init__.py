"""Where monitors get their data: Prometheus range queries and pushed events, by source kind.

See ``activities.sources.registry`` for the kinds and how to add one.
"""

from activities.sources.base import (
    FetchWindow,
    SeriesPoints,
    SourceConfigError,
    SourceContext,
    SourceError,
    SourceKind,
)
from activities.sources.registry import (
    SOURCES,
    fetch_window,
    source_kind,
    validate_source,
)

__all__ = [
    "SOURCES",
    "FetchWindow",
    "SeriesPoints",
    "SourceConfigError",
    "SourceContext",
    "SourceError",
    "SourceKind",
    "fetch_window",
    "source_kind",
    "validate_source",
]
