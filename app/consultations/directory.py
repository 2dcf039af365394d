"""The dermatologist directory: a data file the operator can replace, validated at start-up.

The file is JSON (`{"dermatologists": [...]}`, see `data/dermatologists.json`); every entry is
checked when the service starts, and every problem is named at once, so a bad file stops the
start-up rather than the first referral. The directory is small and read-only: it is held in
memory, filtered in process and paged with the API's one cursor format.
"""

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationError

from app.core.errors import BadRequestError, NotFoundError
from app.core.pagination import pack_cursor, unpack_cursor

BUNDLED_DIRECTORY = Path(__file__).parent / "data" / "dermatologists.json"

SPECIALTIES: tuple[str, ...] = (
    "general",
    "acne",
    "rosacea",
    "eczema",
    "psoriasis",
    "pigmentation",
    "scarring",
    "moles",
    "skin_cancer",
    "dermatosurgery",
    "contact_allergy",
    "pediatric",
    "cosmetic",
    "hair_and_nails",
)
DIRECTORY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    website: Annotated[str, StringConstraints(pattern=r"^https://", max_length=300)] | None = None


class Dermatologist(BaseModel):
    """One directory entry, as the operator's file gives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=DIRECTORY_ID_PATTERN)]
    name: Text
    specialties: list[str] = Field(min_length=1, max_length=len(SPECIALTIES))
    languages: list[Language] = Field(min_length=1, max_length=20)
    city: Text
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    contact: Contact
    accepts_teleconsultation: bool


class DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = None
    note: str | None = None
    dermatologists: list[Dermatologist] = Field(min_length=1)


class DirectoryError(ValueError):
    """The directory file cannot be used; the message names the file and every problem."""


class DermatologistNotFoundError(NotFoundError):
    code = "dermatologist_not_found"
    message = "No dermatologist with this id in the directory."


def fold(text: str) -> str:
    """Case- and accent-insensitive form for filters ("münchen" finds "Munchen")."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class DirectoryFilter:
    specialty: str | None = None
    language: str | None = None
    city: str | None = None
    teleconsultation: bool | None = None

    def matches(self, entry: Dermatologist) -> bool:
        return (
            (self.specialty is None or self.specialty in entry.specialties)
            and (self.language is None or self.language.lower() in entry.languages)
            and (self.city is None or fold(self.city) == fold(entry.city))
            and (self.teleconsultation is None or self.teleconsultation == entry.accepts_teleconsultation)
        )


class Directory:
    """The loaded directory: lookup by id, filtered pages in name order."""

    def __init__(self, entries: list[Dermatologist], *, source: Path) -> None:
        self.source = source
        # Name order (then id): a stable order the cursor can point into.
        self._entries = sorted(entries, key=_order)
        self._by_id = {e.id: e for e in self._entries}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, *, dermatologist_id: str) -> Dermatologist:
        """One entry (404 `dermatologist_not_found` otherwise)."""
        entry = self._by_id.get(dermatologist_id)
        if entry is None:
            raise DermatologistNotFoundError()
        return entry

    def page(
        self, *, where: DirectoryFilter, limit: int, cursor: str | None
    ) -> tuple[list[Dermatologist], str | None]:
        """Matching entries after the cursor's position, and the cursor of the next page."""
        matching = [e for e in self._entries if where.matches(e)]
        start = self._start_after(cursor, matching)
        items = matching[start : start + limit]
        more = start + limit < len(matching)
        return items, pack_cursor({"after": items[-1].id}) if more and items else None

    def _start_after(self, cursor: str | None, matching: list[Dermatologist]) -> int:
        """Index of the first match sorting after the cursor's entry (a position, not an offset)."""
        if not cursor:
            return 0
        anchor = self._by_id.get(str(unpack_cursor(cursor, keys={"after"})["after"]))
        if anchor is None:
            raise BadRequestError("The cursor is not valid.", code="invalid_cursor")
        key = _order(anchor)
        return next((i for i, e in enumerate(matching) if _order(e) > key), len(matching))


def _order(entry: Dermatologist) -> tuple[str, str]:
    return (fold(entry.name), entry.id)


def load_directory(path: Path | None) -> Directory:
    """Read and check the directory file (the bundled sample when `path` is None)."""
    source = path or BUNDLED_DIRECTORY
    label = f"CONSULTATION_DIRECTORY_PATH={source}"
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DirectoryError(f"{label}: the dermatologist directory file does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError(f"{label}: the file cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise DirectoryError(f"{label}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    try:
        parsed = DirectoryFile.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors()]
        raise DirectoryError(f"{label}: " + "; ".join(problems)) from exc
    problems = []
    seen: set[str] = set()
    for index, entry in enumerate(parsed.dermatologists):
        if entry.id in seen:
            problems.append(f"dermatologists.{index}.id: {entry.id!r} is used twice")
        seen.add(entry.id)
        unknown = sorted(set(entry.specialties) - set(SPECIALTIES))
        if unknown:
            problems.append(
                f"dermatologists.{index}.specialties: unknown {unknown} (known: {', '.join(SPECIALTIES)})"
            )
    if problems:
        raise DirectoryError(f"{label}: " + "; ".join(problems))
    return Directory(list(parsed.dermatologists), source=source)
