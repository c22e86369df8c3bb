"""The service catalog route: what Steward may act on, and how it reaches each service."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.core.catalog import CatalogError
from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import allow
from api.schemas.services import ServiceOut
from api.services.catalog import list_services

router = APIRouter(prefix="/api/v1/services", tags=["catalog"])


@router.get(
    "",
    response_model=list[ServiceOut],
    responses={503: {"description": "The catalog file changed and no longer validates"}},
    dependencies=[allow(Permission.INCIDENTS_READ)],
)
def get_services() -> list[ServiceOut]:
    """List the services of the catalog: environment, owners, target and query names."""
    try:
        return list_services(settings=get_settings())
    except CatalogError as exc:
        # Validated at start-up; an edit since then is the server's problem, not the caller's.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
