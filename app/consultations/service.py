"""Dermatologist referral: the directory, consultation requests and their shareable report.

A request takes the user's chosen scans (their own, completed), renders the report once
(a snapshot of what the user agreed to share), stores it beside the user's photos, records
the consultation and mails the dermatologist the expiring link. "Sent" means that mail went
out; only then can the user rate the consultation. The link is checked against the
consultation each time it is opened, so it stops on expiry, on cancel and with the account.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.auth.models import UserRecord
from app.auth.repository import UsersRepository
from app.consultations.directory import Dermatologist, Directory, DirectoryFilter
from app.consultations.errors import (
    ConsultationNotFoundError,
    ConsultationStateError,
    ReportGoneError,
    ReportLinkInvalidError,
    ReportNotFoundError,
)
from app.consultations.links import ReportLinkCodec
from app.consultations.models import ConsultationRating, ConsultationRecord
from app.consultations.report import ReportData, ReportPlan, ReportReaction, ReportScan, render_report
from app.consultations.repository import ConsultationsRepository
from app.core.errors import AccountGoneError, ConflictError, DependencyUnavailableError
from app.core.logging import audit
from app.core.rate_limit import RateLimiter
from app.core.security import iso, new_id, parse_iso, utc_now
from app.core.vocabulary import METRICS_WITH_OVERALL
from app.db.guards import UserGoneError
from app.db.keys import consultation_report_key
from app.plans.models import PlanRecord
from app.plans.repository import PlansRepository
from app.plans.timeline import adherence, plan_timeline
from app.providers.mail import Mailer
from app.providers.storage.base import ImageStorage
from app.scans.errors import ScanNotFoundError
from app.scans.models import ScanRecord
from app.scans.repository import ScansRepository

logger = logging.getLogger("dermalens.consultations")

MAX_SCANS = 6


@dataclass(frozen=True)
class ReportFile:
    """A report as the link serves it."""

    pdf: bytes
    filename: str


class ConsultationService:
    def __init__(
        self,
        *,
        consultations: ConsultationsRepository,
        directory: Directory,
        users: UsersRepository,
        scans: ScansRepository,
        plans: PlansRepository,
        storage: ImageStorage,
        mailer: Mailer,
        links: ReportLinkCodec,
        limiter: RateLimiter,
        per_day: int,
        report_days: int,
    ) -> None:
        self._repo = consultations
        self.directory = directory
        self._users = users
        self._scans = scans
        self._plans = plans
        self._storage = storage
        self._mailer = mailer
        self._links = links
        self._limiter = limiter
        self._per_day = per_day
        self._report_ttl = timedelta(days=report_days)

    # ---- directory ----

    def dermatologists(
        self, *, where: DirectoryFilter, limit: int, cursor: str | None
    ) -> tuple[list[Dermatologist], str | None]:
        """A page of the directory, filtered, in name order."""
        return self.directory.page(where=where, limit=limit, cursor=cursor)

    # ---- requests ----

    def create(
        self, *, user: UserRecord, dermatologist_id: str, reason: str, scan_ids: list[str], base_url: str
    ) -> ConsultationRecord:
        """Render and store the report, record the request, mail the dermatologist the link."""
        doctor = self.directory.get(dermatologist_id=dermatologist_id)
        chosen = [self._shareable_scan(user_id=user.user_id, scan_id=scan_id) for scan_id in scan_ids]
        self._limiter.hit(
            owner=user.user_id,
            name="consultations",
            limit=self._per_day,
            window_seconds=86400,
            message=f"You can send {self._per_day} consultation requests a day.",
        )
        now = utc_now()
        consultation_id = new_id()
        expires_at = now + self._report_ttl
        data = self._report_data(
            user=user,
            consultation_id=consultation_id,
            doctor=doctor,
            reason=reason,
            chosen=chosen,
            now=now,
            expires_at=expires_at,
        )
        rendered = render_report(data)
        key = consultation_report_key(user.user_id, consultation_id)
        self._storage.put(key=key, data=rendered.pdf, content_type="application/pdf")
        record = ConsultationRecord(
            user_id=user.user_id,
            consultation_id=consultation_id,
            status="pending",
            dermatologist_id=doctor.id,
            dermatologist_name=doctor.name,
            dermatologist_email=str(doctor.contact.email),
            reason=reason,
            scan_ids=[s.scan_id for s in chosen],
            report_key=key,
            report_pages=rendered.pages,
            report_bytes=len(rendered.pdf),
            report_nonce=secrets.token_urlsafe(16),
            report_expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        try:
            self._repo.create(record=record)
        except UserGoneError as exc:
            self._storage.delete_prefix(prefix=key)
            raise AccountGoneError() from exc
        except Exception:
            # Nothing was recorded: the stored report must not outlive the failed request.
            self._storage.delete_prefix(prefix=key)
            raise
        audit("consultation.created", user_id=user.user_id, consultation_id=consultation_id)
        return self._deliver(user=user, record=record, base_url=base_url)

    def send(self, *, user: UserRecord, consultation_id: str, base_url: str) -> ConsultationRecord:
        """Mail a request whose first delivery failed (409 once sent, cancelled or expired)."""
        record = self.get(user_id=user.user_id, consultation_id=consultation_id)
        if record.status != "pending":
            raise ConsultationStateError(
                f"This consultation is {record.status}; only a pending one is sent again.",
                code=f"consultation_{record.status}",
            )
        if record.link_state(utc_now()) == "expired":
            raise ConsultationStateError(
                "The report link has expired; start a new request.", code="report_link_expired"
            )
        return self._deliver(user=user, record=record, base_url=base_url)

    def _deliver(self, *, user: UserRecord, record: ConsultationRecord, base_url: str) -> ConsultationRecord:
        """Mail the link; the request stays `pending` (and says why) when the mail fails."""
        url = self._links.url(record, base_url=base_url)
        first_name = (user.full_name or "A DermaLens user").split()[0]
        body = (
            f"Hello {record.dermatologist_name},\n\n"
            f"{first_name} asks you for a consultation through DermaLens and shares a skin report "
            f"({record.report_pages} pages: photos, scores over time, treatment plan, reactions).\n\n"
            f"Reason: {record.reason}\n\n"
            f"Report (PDF): {url}\n"
            f"The link works until {record.report_expires_at:%Y-%m-%d %H:%M} UTC unless the patient withdraws it.\n\n"
            f"Reply to the patient at: {user.email}\n"
        )
        try:
            self._mailer.send(
                to=record.dermatologist_email, subject="Consultation request with a skin report", body=body
            )
        except DependencyUnavailableError as exc:
            logger.warning("consultation mail failed", extra={"consultation_id": record.consultation_id})
            failed = self._repo.record_send_failure(record=record, now=iso(utc_now()), error=exc.message)
            return failed or self.get(user_id=record.user_id, consultation_id=record.consultation_id)
        sent = self._repo.mark_sent(record=record, now=iso(utc_now()))
        if sent is None:
            # Cancelled while the mail went out: the link already refuses, the record says cancelled.
            return self.get(user_id=record.user_id, consultation_id=record.consultation_id)
        audit("consultation.sent", user_id=record.user_id, consultation_id=record.consultation_id)
        return sent

    def _shareable_scan(self, *, user_id: str, scan_id: str) -> ScanRecord:
        scan = self._scans.get(user_id=user_id, scan_id=scan_id)
        if scan is None:
            raise ScanNotFoundError(details={"scan_id": scan_id})
        if scan.status != "completed" or not scan.passed_quality or not scan.scores:
            raise ConflictError(
                "Only completed scans can be shared.",
                code="scan_not_completed",
                details={"scan_id": scan_id, "status": scan.status},
            )
        return scan

    # ---- reading, cancelling, rating ----

    def get(self, *, user_id: str, consultation_id: str) -> ConsultationRecord:
        """One of the user's consultations (404 for anyone else's)."""
        record = self._repo.get(user_id=user_id, consultation_id=consultation_id)
        if record is None:
            raise ConsultationNotFoundError()
        return record

    def get_page(
        self, *, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ConsultationRecord], str | None]:
        """Newest first."""
        return self._repo.get_page(user_id=user_id, limit=limit, cursor=cursor)

    def cancel(self, *, user_id: str, consultation_id: str) -> ConsultationRecord:
        """Withdraw the request: the link stops at once and the stored report is deleted (repeatable)."""
        record = self.get(user_id=user_id, consultation_id=consultation_id)
        cancelled = (
            self._repo.cancel(record=record, now=iso(utc_now())) if record.status != "cancelled" else None
        )
        result = cancelled or self.get(user_id=user_id, consultation_id=consultation_id)
        if result.status == "cancelled":
            self._storage.delete_prefix(prefix=result.report_key)
            if cancelled:
                audit("consultation.cancelled", user_id=user_id, consultation_id=consultation_id)
        return result

    def rate(
        self, *, user_id: str, consultation_id: str, rating: int, comment: str | None
    ) -> ConsultationRecord:
        """The one rating of a consultation, once it was sent."""
        record = self.get(user_id=user_id, consultation_id=consultation_id)
        if record.sent_at is None:
            raise ConsultationStateError(
                "A consultation can be rated once the request was sent to the dermatologist.",
                code="consultation_not_sent",
            )
        rated = self._repo.rate(
            record=record, rating=ConsultationRating(rating=rating, comment=comment, rated_at=utc_now())
        )
        if rated is None:
            current = self.get(user_id=user_id, consultation_id=consultation_id)
            raise ConsultationStateError(
                "This consultation is already rated.",
                code="already_rated",
                details={"rating": current.rating.rating if current.rating else None},
            )
        return rated

    def report_url(self, record: ConsultationRecord, *, base_url: str) -> str | None:
        """The link, while it works."""
        return (
            self._links.url(record, base_url=base_url) if record.link_state(utc_now()) == "active" else None
        )

    # ---- the link ----

    def open_report(self, *, token: str) -> ReportFile:
        """The PDF behind a link: genuine, unexpired, its consultation live and its account alive."""
        claims = self._links.verify(token)
        record = self._repo.get(user_id=claims.user_id, consultation_id=claims.consultation_id)
        if record is None:
            raise ReportNotFoundError()
        if not secrets.compare_digest(record.report_nonce, claims.nonce):
            raise ReportLinkInvalidError()
        user = self._users.get(user_id=claims.user_id)
        if user is None or user.deletion_requested_at:
            raise ReportNotFoundError()
        state = record.link_state(utc_now())
        if state == "cancelled":
            raise ReportGoneError("The patient withdrew this report.", code="consultation_cancelled")
        if state == "expired":
            self._storage.delete_prefix(prefix=record.report_key)  # no longer shared: no reason to keep it
            raise ReportGoneError()
        pdf = self._storage.get(key=record.report_key)
        if pdf is None:
            raise ReportNotFoundError()
        return ReportFile(pdf=pdf, filename=f"dermalens-report-{record.consultation_id}.pdf")

    # ---- the report's content ----

    def _report_data(
        self,
        *,
        user: UserRecord,
        consultation_id: str,
        doctor: Dermatologist,
        reason: str,
        chosen: list[ScanRecord],
        now: datetime,
        expires_at: datetime,
    ) -> ReportData:
        history = self._scans.completed_between(user_id=user.user_id, date_from="0000", date_to="9999")
        series = {
            metric: [
                (parse_iso(s.scan_date), s.scores[metric]) for s in history if s.scores and metric in s.scores
            ]
            for metric in METRICS_WITH_OVERALL
        }
        plans = self._plans.all_for_user(user_id=user.user_id)
        active = next((p for p in plans if p.status in {"active", "paused"}), None)
        return ReportData(
            consultation_id=consultation_id,
            generated_at=now,
            expires_at=expires_at,
            patient_name=user.full_name or user.email.split("@")[0],
            patient_email=user.email,
            skin_type=str(user.skin_type) if user.skin_type else None,
            sensitivities=list(user.sensitivities),
            pregnant_or_breastfeeding=user.pregnant_or_breastfeeding,
            dermatologist_name=doctor.name,
            reason=reason,
            series={m: pts for m, pts in series.items() if pts},
            scans=[self._report_scan(scan) for scan in sorted(chosen, key=lambda s: s.scan_date)],
            plan=_report_plan(active, user) if active else None,
            reactions=_reactions(plans),
        )

    def _report_scan(self, scan: ScanRecord) -> ReportScan:
        photos = {angle: self._storage.get(key=key) for angle, key in scan.image_keys.items()}
        overlay = self._storage.get(key=scan.overlay_key) if scan.overlay_key else None
        return ReportScan(
            scan_id=scan.scan_id,
            taken_at=parse_iso(scan.scan_date),
            scores=dict(scan.scores or {}),
            photos={angle: data for angle, data in photos.items() if data},
            overlay=overlay,
        )


def _report_plan(plan: PlanRecord, user: UserRecord) -> ReportPlan:
    stats = adherence(plan, user)
    timeline = plan_timeline(plan, user)
    return ReportPlan(
        plan_id=plan.plan_id,
        status=plan.status,
        start_date=plan.start_date,
        lock_until=plan.lock_until,
        days_elapsed=int(timeline["days_elapsed"]),
        am_steps=[step.product_type for step in plan.routine.am],
        pm_steps=[step.product_type for step in plan.routine.pm],
        night_actives=list(dict.fromkeys(t.step.product_type for t in plan.routine.night_treatments)),
        am_percent=float(stats["am_percent"]),
        pm_percent=float(stats["pm_percent"]),
        streak_days=int(stats["streak_days"]),
        checkins=int(stats["checkins"]),
        days_tracked=int(stats["days_tracked"]),
    )


def _reactions(plans: list[PlanRecord]) -> list[ReportReaction]:
    """Every reaction reported in any plan's check-ins, oldest first (a replaced plan's included)."""
    found = [
        ReportReaction(
            date=c.date,
            severity=c.reaction.severity,
            description=c.reaction.description,
            suspected_products=list(c.reaction.suspected_products),
        )
        for plan in plans
        for c in plan.checkins.values()
        if c.reaction
    ]
    return sorted(found, key=lambda r: r.date)
