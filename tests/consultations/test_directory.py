"""The directory file: the bundled sample loads; a bad operator file stops the start-up, saying why."""

import json
from pathlib import Path
from typing import Any

import pytest

from app.bootstrap import build_container
from app.consultations.directory import (
    BUNDLED_DIRECTORY,
    DirectoryError,
    DirectoryFilter,
    fold,
    load_directory,
)
from app.core.config import Settings
from tests.conftest import make_settings


def entry(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "test-doctor",
        "name": "Dr Test",
        "specialties": ["acne"],
        "languages": ["en"],
        "city": "Zürich",
        "country": "CH",
        "contact": {"email": "test@clinic.example.org"},
        "accepts_teleconsultation": True,
    }
    return {**values, **overrides}


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "directory.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_the_bundled_sample_loads_and_every_entry_can_be_mailed() -> None:
    directory = load_directory(None)
    assert directory.source == BUNDLED_DIRECTORY
    assert len(directory) == 9
    items, _ = directory.page(where=DirectoryFilter(), limit=100, cursor=None)
    assert all(
        e.contact.email.endswith(".example.org") or e.contact.email.endswith(".example.com") for e in items
    )


def test_an_operator_file_replaces_the_sample(tmp_path: Path) -> None:
    path = write(tmp_path, {"dermatologists": [entry(), entry(id="second-doctor", name="Dr Another")]})
    directory = load_directory(path)
    assert len(directory) == 2
    # Accents and case are ignored when filtering by city.
    items, _ = directory.page(where=DirectoryFilter(city="zurich"), limit=10, cursor=None)
    assert [e.id for e in items] == ["second-doctor", "test-doctor"]
    assert fold("ZÜRICH") == fold("zurich")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON (line 1"),
        ({"dermatologists": []}, "dermatologists: List should have at least 1 item"),
        ({"dermatologists": [entry(contact={"email": "not-an-email"})]}, "dermatologists.0.contact.email"),
        (
            {"dermatologists": [entry(specialties=["astrology"])]},
            "dermatologists.0.specialties: unknown ['astrology']",
        ),
        ({"dermatologists": [entry(), entry()]}, "dermatologists.1.id: 'test-doctor' is used twice"),
        ({"dermatologists": [entry(country="Switzerland")]}, "dermatologists.0.country"),
        ({"dermatologists": [entry(fax="+41")]}, "dermatologists.0.fax: Extra inputs are not permitted"),
        ({"dermatologists": [{"id": "x-y"}]}, "dermatologists.0.name: Field required"),
    ],
)
def test_a_bad_file_is_refused_with_the_problem_named(tmp_path: Path, content: Any, problem: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    message = str(caught.value)
    assert message.startswith(f"CONSULTATION_DIRECTORY_PATH={path}: ")
    assert problem in message


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"dermatologists": [entry(specialties=["astrology"]), entry(specialties=["tarot"])]},
    )
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    assert "dermatologists.0.specialties" in str(caught.value)
    assert "dermatologists.1.specialties" in str(caught.value)
    assert "dermatologists.1.id" in str(caught.value)


def test_a_missing_file_stops_the_start_up(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    broken = make_settings(settings.aws_dynamodb_endpoint, tmp_path, consultation_directory_path=str(missing))
    with pytest.raises(DirectoryError, match="the dermatologist directory file does not exist"):
        build_container(broken)
