"""First-run set-up shared by ``steward up`` and ``steward demo``."""

from __future__ import annotations

from sqlmodel import Session, select

from api.core.db import get_engine
from api.core.settings import get_settings
from api.models import ApiKey
from api.services.keys import create_api_key


def ensure_admin_key() -> None:
    """Create an ``admin`` key on the first run and save it to ``<home>/admin.key`` (0600).

    Later runs leave keys alone: a deployment that already has keys manages them itself.
    """
    settings = get_settings()
    path = settings.home / "admin.key"
    with Session(get_engine()) as session:
        if session.exec(select(ApiKey).limit(1)).first() is not None:
            return
        _, token = create_api_key(session, "admin", ["admin"])
        session.commit()
    settings.home.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n")
    path.chmod(0o600)
    print(f"created the first admin API key; it is in {path}")


def ensure_demo_keys() -> dict[str, str]:
    """Create two keys for the demo: a responder who opens incidents and an on-call approver."""
    keys: dict[str, str] = {}
    with Session(get_engine()) as session:
        for name, roles in {"responder": ["engineer"], "oncall": ["operator"]}.items():
            _, keys[name] = create_api_key(session, f"demo-{name}", roles)
        session.commit()
    return keys
