"""The consultations' part of a user's data, for account export and erasure."""

from typing import Any

from app.account.owners import ImageUrl
from app.consultations.repository import ConsultationsRepository
from app.db.keys import consultation_files_prefix
from app.providers.storage.base import ImageStorage


class ConsultationsData:
    """Consultation requests and their report PDFs."""

    name = "consultations"

    def __init__(self, *, consultations: ConsultationsRepository, storage: ImageStorage) -> None:
        self._consultations = consultations
        self._storage = storage

    def erase_user(self, *, user_id: str, email: str) -> dict[str, int]:  # noqa: ARG002 - the protocol's signature
        """The reports first (the links then refuse even before the items go), then the items."""
        reports = self._storage.delete_prefix(prefix=consultation_files_prefix(user_id))
        return {
            "consultation_reports": reports,
            "consultations": self._consultations.delete_all(user_id=user_id),
        }

    def export_user(self, *, user_id: str, image_url: ImageUrl) -> dict[str, Any]:  # noqa: ARG002
        """Every request with its status, rating and the dermatologist it went to (not the link secret)."""
        return {
            "consultations": [
                r.model_dump(mode="json", exclude={"user_id", "report_nonce", "report_key"})
                for r in self._consultations.all_for_user(user_id=user_id)
            ]
        }
