"""Ingredient checks for a signed-in user, and the offset cursor of the catalog search."""

from app.auth.repository import UserRecord
from app.core.errors import BadRequestError
from app.core.pagination import pack_cursor, unpack_cursor
from app.core.security import utc_now
from app.ingredients.schemas import IngredientCheckRequest
from app.plans.service import engine_profile
from app.routine_engine.conflicts import check
from app.routine_engine.models import ConflictReport, ProductInput


def check_for_user(*, user: UserRecord, request: IngredientCheckRequest) -> ConflictReport:
    products = [ProductInput(name=p.name, ingredients=p.ingredients, inci=p.inci) for p in request.products]
    return check(ingredients=request.ingredients, products=products, profile=engine_profile(user, utc_now()))


def encode_offset(offset: int) -> str:
    return pack_cursor({"offset": offset})


def decode_offset(cursor: str | None) -> int:
    """The catalog is static data, so its cursor holds an offset (in the API's one cursor format)."""
    if not cursor:
        return 0
    offset = unpack_cursor(cursor, keys={"offset"})["offset"]
    if not isinstance(offset, int) or not 0 <= offset <= 100_000:
        raise BadRequestError("The cursor is not valid.", code="invalid_cursor")
    return offset
