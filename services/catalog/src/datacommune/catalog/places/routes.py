"""``PUT /api/v1/places`` (the operator loads a reference) and ``GET /api/v1/places/{code}``."""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from datacommune.catalog import problems
from datacommune.catalog.deps import Admin, Session
from datacommune.catalog.places import schemas, store
from datacommune.catalog.tables import Place
from datacommune.shared.http import RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["communes / places"])


@router.put(
    "/places",
    dependencies=[Admin],
    response_model=schemas.PlacesStored,
    summary="Charger des communes d'un référentiel / load places from a reference",
)
async def put_places(data: schemas.PlacesIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Add or replace up to 5,000 places at a time (the CLI sends a whole reference in
    batches); their names and geometries then describe spatial coverage in the DCAT feed."""
    async with runtime.sessionmaker.begin() as session:
        await store.store(session, data.items, data.source)
    return {"stored": len(data.items)}


@router.get(
    "/places/{insee_code}",
    response_model=schemas.Place,
    summary="Une commune du référentiel / one place of the reference",
)
async def get_place(
    insee_code: Annotated[str, Path(pattern=r"^[0-9][0-9AB][0-9]{3}$")], session: Session
) -> dict[str, Any]:
    place = await session.get(Place, insee_code)
    if place is None:
        raise problems.place_not_found(insee_code)
    return store.describe(place)
