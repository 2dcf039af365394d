"""The report's shareable link: a signed token naming the consultation, checked on every use.

The token is an HS256 JWT under a key of its own (derived from SECRET_KEY), carrying the
user, the consultation, the consultation's random nonce and the expiry. It holds no secret
itself and is not enough on its own: every use also reads the consultation, so a cancelled
request, a deleted account or a replaced nonce stops the link at once.
"""

from dataclasses import dataclass

import jwt

from app.consultations.errors import ReportGoneError, ReportLinkInvalidError
from app.consultations.models import ConsultationRecord

TOKEN_TYPE = "consultation_report"
REPORT_ROUTE = "/api/v1/consultations/reports/"


@dataclass(frozen=True)
class ReportClaims:
    user_id: str
    consultation_id: str
    nonce: str


class ReportLinkCodec:
    def __init__(self, *, secret_key: str) -> None:
        self._key = secret_key + ":consultation-report"

    def token(self, record: ConsultationRecord) -> str:
        """The link token of a consultation (the same token every time: no issue time in it)."""
        payload = {
            "typ": TOKEN_TYPE,
            "sub": record.user_id,
            "cid": record.consultation_id,
            "n": record.report_nonce,
            "exp": int(record.report_expires_at.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm="HS256")

    def url(self, record: ConsultationRecord, *, base_url: str) -> str:
        """The absolute link the dermatologist opens."""
        return base_url.rstrip("/") + REPORT_ROUTE + self.token(record)

    def verify(self, token: str) -> ReportClaims:
        """The claims of a genuine, unexpired token: 403 if forged, 410 if expired."""
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["exp", "sub", "cid", "n", "typ"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise ReportGoneError() from exc
        except jwt.PyJWTError as exc:
            raise ReportLinkInvalidError() from exc
        if claims.get("typ") != TOKEN_TYPE:
            raise ReportLinkInvalidError()
        return ReportClaims(
            user_id=str(claims["sub"]), consultation_id=str(claims["cid"]), nonce=str(claims["n"])
        )
