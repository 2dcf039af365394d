"""ConsultationsRepository against DynamoDB Local: conditional changes hold under concurrency."""

from datetime import timedelta
from typing import Any

import pytest

from app.consultations.models import ConsultationRating, ConsultationRecord
from app.consultations.repository import ConsultationsRepository
from app.core.security import iso, new_id, utc_now
from app.db.guards import UserGoneError
from tests.helpers import in_threads


def repo(container: Any, settings: Any) -> ConsultationsRepository:
    return ConsultationsRepository(
        container.dynamodb, settings.table_names["records"], settings.table_names["users"]
    )


def record(user_id: str, **fields: Any) -> ConsultationRecord:
    now = utc_now()
    consultation_id = new_id()
    values: dict[str, Any] = {
        "user_id": user_id,
        "consultation_id": consultation_id,
        "status": "pending",
        "dermatologist_id": "amara-okafor-london",
        "dermatologist_name": "Dr Amara Okafor",
        "dermatologist_email": "referrals@okafor-skin.example.org",
        "reason": "Rash",
        "scan_ids": [new_id()],
        "report_key": f"users/{user_id}/consultations/{consultation_id}/report.pdf",
        "report_pages": 3,
        "report_bytes": 1000,
        "report_nonce": "nonce",
        "report_expires_at": now + timedelta(days=14),
        "created_at": now,
        "updated_at": now,
    }
    return ConsultationRecord(**{**values, **fields})


def test_only_one_of_many_concurrent_ratings_is_kept(container: Any, settings: Any, user_id: str) -> None:
    consultations = repo(container, settings)
    stored = record(user_id)
    consultations.create(record=stored)
    sent = consultations.mark_sent(record=stored, now=iso(utc_now()))
    assert sent is not None
    results = in_threads(
        6,
        lambda: consultations.rate(
            record=stored, rating=ConsultationRating(rating=5, comment="great", rated_at=utc_now())
        ),
    )
    assert sum(r is not None for r in results) == 1
    final = consultations.get(user_id=user_id, consultation_id=stored.consultation_id)
    assert final is not None
    assert final.rating is not None
    assert final.rating.rating == 5
    consultations.delete_all(user_id=user_id)


def test_a_cancelled_request_is_never_marked_sent(container: Any, settings: Any, user_id: str) -> None:
    consultations = repo(container, settings)
    stored = record(user_id)
    consultations.create(record=stored)
    assert consultations.cancel(record=stored, now=iso(utc_now())) is not None
    assert consultations.mark_sent(record=stored, now=iso(utc_now())) is None
    assert consultations.rate(record=stored, rating=ConsultationRating(rating=1, rated_at=utc_now())) is None
    final = consultations.get(user_id=user_id, consultation_id=stored.consultation_id)
    assert final is not None
    assert final.status == "cancelled"
    assert final.sent_at is None
    assert consultations.delete_all(user_id=user_id) == 1
    assert consultations.all_for_user(user_id=user_id) == []


def test_nothing_is_written_for_a_user_who_does_not_exist(container: Any, settings: Any) -> None:
    consultations = repo(container, settings)
    ghost = new_id()
    with pytest.raises(UserGoneError):
        consultations.create(record=record(ghost))
    assert consultations.all_for_user(user_id=ghost) == []
