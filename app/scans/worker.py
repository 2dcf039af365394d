"""Background analysis: a thread pool fed by submits, with the scan item as the durable job.

A crash or restart loses nothing: pending scans carry a job marker, and `start()` re-queues
every one of them (a `processing` scan whose lease ran out is claimed again). Claims are
conditional writes, so two workers or two instances never analyse one scan at once.

A claim is a short lease (ANALYSIS_LEASE_SECONDS) that a heartbeat renews while the analysis
runs: a live worker keeps its scan however long the analysis takes, and the scans of a worker
that died (SIGKILL, power loss) are taken over within one lease plus one sweep
(ANALYSIS_SWEEP_SECONDS), by this instance after its restart or by any other.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from app.core.errors import DomainError
from app.core.security import iso, utc_now
from app.core.vocabulary import METRICS_WITH_OVERALL
from app.providers.storage.base import ImageStorage
from app.providers.vision.base import AnalysisFailedError, ScanAnalysis, VisionProvider
from app.providers.vision.noise import within_noise
from app.scans.models import (
    AnalysisSummary,
    AngleSummary,
    ScanDeltas,
    ScanFailureRecord,
    ScoreDelta,
    StoredBox,
    StoredProblem,
    StoredQuality,
)
from app.scans.repository import ScanRecord, ScansRepository
from app.scans.service import overlay_key

logger = logging.getLogger("dermalens.analysis")

DEFAULT_LEASE_SECONDS = 30.0
# Renewals per lease: two beats can be missed (a slow or briefly unavailable database) before
# another worker may take the scan over.
BEATS_PER_LEASE = 3
MAX_ATTEMPTS = 3

BaselineLookup = Callable[[str], ScanRecord | None]


def score_changes(current: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """metric → current minus reference (positive = healthier), for metrics both have."""
    return {
        metric: round(current[metric] - reference[metric], 1)
        for metric in METRICS_WITH_OVERALL
        if metric in current and metric in reference
    }


def delta_against(reference: ScanRecord | None, scores: dict[str, float]) -> ScoreDelta | None:
    """Changes against one earlier scan, or None when there is nothing to compare with."""
    if reference is None or not reference.scores:
        return None
    changes = score_changes(scores, reference.scores)
    return ScoreDelta(
        scan_id=reference.scan_id,
        scan_date=reference.scan_date,
        changes=changes,
        # Per metric: is this change no larger than photo-to-photo noise? (app/providers/vision/noise.py)
        within_noise={metric: within_noise(metric, delta) for metric, delta in changes.items()},
    )


class LeaseKeeper:
    """Renews a claimed scan's lease in the background while its analysis runs."""

    def __init__(self, *, scans: ScansRepository, scan: ScanRecord, lease_seconds: float) -> None:
        self._scans = scans
        self._scan = scan
        self._lease = timedelta(seconds=lease_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{scan.scan_id}", daemon=True)
        self.lost = False

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        # Joined before the result is written, so `scan.lease_expires_at` is settled by then.
        self._thread.join()

    def _beat(self) -> None:
        interval = self._lease.total_seconds() / BEATS_PER_LEASE
        while not self._stop.wait(interval):
            until = utc_now() + self._lease
            try:
                renewed = self._scans.renew_lease(scan=self._scan, lease_until=iso(until))
            except DomainError as exc:  # the database is briefly unavailable: try at the next beat
                logger.warning("lease renewal failed: %s", exc.message, extra={"scan_id": self._scan.scan_id})
                continue
            if not renewed:
                # Deleted, or taken over after missed beats: the conditional finish sorts it out.
                self.lost = True
                logger.warning("lease lost", extra={"scan_id": self._scan.scan_id})
                return
            self._scan.lease_expires_at = until


class AnalysisProcessor:
    """Runs one scan's analysis from claim to result; safe to call twice for one scan."""

    def __init__(
        self,
        *,
        scans: ScansRepository,
        storage: ImageStorage,
        vision: VisionProvider,
        baseline_lookup: BaselineLookup | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._scans = scans
        self._storage = storage
        self._vision = vision
        self.baseline_lookup = baseline_lookup
        self._lease_seconds = lease_seconds

    def process(self, user_id: str, scan_id: str) -> str | None:
        """Claim and analyse; returns the final status, or None if another worker holds it."""
        now = utc_now()
        lease_until = now + timedelta(seconds=self._lease_seconds)
        scan = self._scans.claim(user_id=user_id, scan_id=scan_id, now=iso(now), lease_until=iso(lease_until))
        if scan is None:
            return None
        log = {"scan_id": scan_id, "attempt": scan.attempts}
        if scan.attempts > MAX_ATTEMPTS:
            # The process died mid-analysis this many times: stop, say so, let the user retry.
            self._scans.finish(
                scan=scan,
                updates=self._failure("too_many_attempts", "The analysis kept failing; retry the scan."),
            )
            return "failed"
        logger.info("analysis started", extra=log)
        try:
            with LeaseKeeper(scans=self._scans, scan=scan, lease_seconds=self._lease_seconds):
                updates = self._analyse(scan)
        except DomainError as exc:
            updates = self._failure(exc.code, exc.message)
            logger.warning("analysis failed: %s", exc.code, extra=log)
        except Exception as exc:
            logger.exception("analysis crashed", extra=log)
            updates = self._failure(
                "internal_error", f"The analysis crashed ({type(exc).__name__}); retry the scan."
            )
        if not self._scans.finish(scan=scan, updates=updates):
            self._discard_result(scan, updates)
            return None
        logger.info("analysis finished", extra={**log, "status": updates["status"]})
        return str(updates["status"])

    def _discard_result(self, scan: ScanRecord, updates: dict[str, Any]) -> None:
        """The result could not be recorded: the scan was deleted, its account is being
        deleted, or another worker took it over. Only in the first two cases does the overlay
        written here have no owner any more, and then it must go."""
        current = self._scans.get(user_id=scan.user_id, scan_id=scan.scan_id)
        ours = current is not None and current.status == "processing"
        ours = ours and current is not None and current.lease_expires_at == scan.lease_expires_at
        if updates.get("overlay_key") and (current is None or ours):
            self._storage.delete_prefix(prefix=str(updates["overlay_key"]))
        logger.info(
            "analysis result discarded",
            extra={"scan_id": scan.scan_id, "reason": "scan deleted" if current is None else "scan changed"},
        )

    def _analyse(self, scan: ScanRecord) -> dict[str, Any]:
        images = {}
        for angle, key in scan.image_keys.items():
            data = self._storage.get(key=key)
            if data is None:
                raise AnalysisFailedError(
                    "A photo of this scan is missing from storage.", code="image_missing"
                )
            images[angle] = data
        analysis = self._vision.analyze(images)
        now = iso(utc_now())
        base: dict[str, Any] = {
            "passed_quality": analysis.passed_quality,
            "quality": {
                a.angle: StoredQuality.model_validate(a.quality.model_dump()).model_dump()
                for a in analysis.angles
            },
            "analysis": _analysis_summary(analysis).model_dump(),
            "completed_at": now,
            "updated_at": now,
        }
        if not analysis.passed_quality:
            problems = [StoredProblem(code=p.code, message=p.message) for p in analysis.problems]
            first = problems[0].message if problems else "The photo did not pass the quality check."
            failure = ScanFailureRecord(code="quality_check_failed", message=first, problems=problems)
            return {**base, "status": "failed", "failure": failure.model_dump()}
        self._store_overlay(scan, images, analysis)
        previous = self._scans.latest_completed(user_id=scan.user_id, before_scan_id=scan.scan_id)
        baseline = self.baseline_lookup(scan.user_id) if self.baseline_lookup else None
        deltas = ScanDeltas(
            previous=delta_against(previous, analysis.scores),
            baseline=delta_against(baseline, analysis.scores)
            if baseline and baseline.scan_id != scan.scan_id
            else None,
        )
        return {
            **base,
            "status": "completed",
            "scores": analysis.scores,
            "deltas": deltas.model_dump(),
            "overlay_key": overlay_key(scan.user_id, scan.scan_id),
        }

    def _store_overlay(self, scan: ScanRecord, images: dict[str, bytes], analysis: ScanAnalysis) -> None:
        front = next((a for a in analysis.angles if a.angle == "front"), None)
        if front is None or "front" not in images:
            return
        overlay = self._vision.render_overlay(images["front"], front)
        self._storage.put(
            key=overlay_key(scan.user_id, scan.scan_id), data=overlay, content_type="image/jpeg"
        )

    @staticmethod
    def _failure(code: str, message: str) -> dict[str, Any]:
        now = iso(utc_now())
        return {
            "status": "failed",
            "failure": ScanFailureRecord(code=code, message=message).model_dump(),
            "completed_at": now,
            "updated_at": now,
        }


def _analysis_summary(analysis: ScanAnalysis) -> AnalysisSummary:
    """What a scan keeps of the provider's result (per photo: scores, regions, measurements)."""
    return AnalysisSummary(
        provider=analysis.provider,
        model_version=analysis.model_version,
        angles=[
            AngleSummary(
                angle=a.angle,
                scores=a.scores,
                regions=a.regions,
                measurements=a.measurements,
                face_box=StoredBox.model_validate(a.face_box.model_dump()) if a.face_box else None,
            )
            for a in analysis.angles
        ],
    )


class AnalysisWorker:
    """In-process worker pool; `enqueue` is what the scan service calls after a submit."""

    def __init__(
        self,
        *,
        processor: AnalysisProcessor,
        scans: ScansRepository,
        workers: int,
        sweep_seconds: float = 60.0,
    ) -> None:
        self._processor = processor
        self._scans = scans
        self._workers = workers
        self._sweep_seconds = sweep_seconds
        self._executor: ThreadPoolExecutor | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._in_flight: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def enqueue(self, user_id: str, scan_id: str) -> None:
        job = (user_id, scan_id)
        with self._lock:
            if self._executor is None or job in self._in_flight:
                return  # not started (e.g. a CLI): the marker makes the next start pick it up
            self._in_flight.add(job)
        self._executor.submit(self._run, job)

    def _run(self, job: tuple[str, str]) -> None:
        try:
            self._processor.process(*job)
        except Exception:
            logger.exception("analysis job could not be recorded", extra={"scan_id": job[1]})
        finally:
            with self._lock:
                self._in_flight.discard(job)

    def recover(self) -> int:
        """Queue every pending scan (after a crash or restart); returns how many."""
        jobs = self._scans.pending_jobs()
        for user_id, scan_id in jobs:
            self.enqueue(user_id, scan_id)
        if jobs:
            logger.info("re-queued pending scans", extra={"count": len(jobs)})
        return len(jobs)

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="analysis")
        try:
            await asyncio.to_thread(self.recover)
        except DomainError as exc:
            logger.warning("could not recover pending scans yet: %s", exc.message)
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        # Picks up scans whose worker died, here or in another instance (their lease expires).
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                await asyncio.to_thread(self.recover)
            except DomainError as exc:
                logger.warning("pending-scan sweep skipped: %s", exc.message)
            except Exception:
                # Whatever went wrong, the loop must live on: it is how crashed scans finish.
                logger.exception("pending-scan sweep failed")

    async def stop(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
        if self._executor:
            executor, self._executor = self._executor, None
            # Queued-but-not-started jobs are dropped here; their markers bring them back.
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
