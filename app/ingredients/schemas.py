"""Ingredient search and conflict-check models."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class ProductCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    inci: Annotated[str, StringConstraints(max_length=5000)] | None = Field(
        None, description="The INCI list as printed on the pack: 'Aqua, Glycerin, ...'"
    )
    ingredients: list[Name] = Field(default_factory=list, max_length=100)


class IngredientCheckRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ingredients": ["retinol", "glycolic acid"],
                    "products": [{"name": "Night serum", "inci": "Aqua, Glycerin, Retinol"}],
                }
            ]
        },
    )

    ingredients: list[Name] = Field(default_factory=list, max_length=100)
    products: list[ProductCheck] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _something_to_check(self) -> "IngredientCheckRequest":
        if not self.ingredients and not self.products:
            raise ValueError("send `ingredients` or `products`")
        for product in self.products:
            if not product.inci and not product.ingredients:
                raise ValueError(f"product '{product.name}' needs `inci` or `ingredients`")
        return self


class IngredientRead(BaseModel):
    slug: str
    name: str
    inci_name: str
    aliases: list[str]
    groups: list[str]
    functions: list[str]
    targets: list[str]
    strength: int
    irritation: int
    comedogenic: int
    pregnancy: str
    pregnancy_note: str | None = None
    photosensitising: bool
    usage: str
    usage_notes: str
    typical_concentration: str | None = None
    sources: list[str]


class IngredientPage(BaseModel):
    items: list[IngredientRead]
    total: int
    next_cursor: str | None = None


class IngredientCheckResult(BaseModel):
    resolved: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    cautions: list[dict[str, Any]]
    unknown: list[dict[str, Any]]
    unmatched_sensitivities: list[str] = Field(default_factory=list)
    worst_severity: str | None = None
