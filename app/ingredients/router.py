"""/ingredients: search the ingredient database and check combinations for conflicts."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import CurrentUser
from app.api.params import Cursor, Limit
from app.api.responses import error_responses
from app.core.errors import BadRequestError, NotFoundError
from app.ingredients.schemas import (
    IngredientCheckRequest,
    IngredientCheckResult,
    IngredientPage,
    IngredientRead,
)
from app.ingredients.service import check_for_user, decode_offset, encode_offset
from app.routine_engine import catalog

router = APIRouter(prefix="/ingredients", tags=["ingredients"])


@router.get("", response_model=IngredientPage, responses=error_responses(401, 422))
def search_ingredients(
    _user: CurrentUser,  # signed-in users only
    q: Annotated[str, Query(max_length=100, description="Name, alias, INCI name, group or concern.")] = "",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> IngredientPage:
    """Best matches first: exact, then prefix, then substring, then group/concern."""
    offset = decode_offset(cursor)
    items, total = catalog.search(query=q, limit=limit, offset=offset)
    next_offset = offset + len(items)
    return IngredientPage(
        items=[IngredientRead.model_validate(i.model_dump()) for i in items],
        total=total,
        next_cursor=encode_offset(next_offset) if next_offset < total else None,
    )


@router.get("/{slug}", response_model=IngredientRead, responses=error_responses(401, 404))
def get_ingredient(
    slug: Annotated[str, Path(description="The ingredient's slug, e.g. `niacinamide`.")],
    _user: CurrentUser,  # signed-in users only
) -> IngredientRead:
    """One ingredient; any slug that is not in the database is a 404, whatever its characters."""
    ingredient = catalog.get(slug=slug) if len(slug) <= 80 else None
    if ingredient is None:
        raise NotFoundError("No such ingredient.", code="ingredient_not_found")
    return IngredientRead.model_validate(ingredient.model_dump())


@router.post("/check", response_model=IngredientCheckResult, responses=error_responses(401, 422))
def check_ingredients(body: IngredientCheckRequest, user: CurrentUser) -> IngredientCheckResult:
    """Conflicts between the ingredients/products (with severity, reason, fix), cautions for your profile."""
    if sum(len(p.inci or "") for p in body.products) > 20000:
        raise BadRequestError("Too much INCI text in one check.", code="check_too_large")
    return IngredientCheckResult.model_validate(
        check_for_user(user=user, request=body).model_dump(mode="json")
    )
