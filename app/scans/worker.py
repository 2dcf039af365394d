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
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.core.beside import Beside
from app.core.errors import DomainError
from app.core.security import iso, utc_now
from app.core.vocabulary import METRICS_WITH_OVERALL
from app.cycles.position import CyclePositionLookup, NoCycleTracking
from app.db.guards import NO_POINTER
from app.providers.queue.base import JobQueue
from app.providers.storage.base import ImageStorage
from app.providers.vision.base import AnalysisFailedError, PhotoDecoder, ScanAnalysis, VisionProvider
from app.providers.vision.noise import within_noise
from app.providers.vision.versions import comparable
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
# The user item's latest-scan pointer (app/db/guards.py): a scan id, NO_POINTER, or None (unknown).
PointerLookup = Callable[[str], str | None]
# The provider for a user (the cloud-AI opt-out), and who hears about a recorded result.
VisionSelector = Callable[[str], VisionProvider]
FinishedHook = Callable[[ScanRecord, dict[str, Any]], None]


def score_changes(current: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """metric → current minus reference (positive = healthier), for metrics both have."""
    return {
        metric: round(current[metric] - reference[metric], 1)
        for metric in METRICS_WITH_OVERALL
        if metric in current and metric in reference
    }


def delta_against(
    reference: ScanRecord | None, scores: dict[str, float], model_version: str | None = None
) -> ScoreDelta | None:
    """Changes against one earlier scan, or None when there is nothing to compare with. A
    metric the analyser recalibrated between the two scans' versions is left out: its change
    would be the analyser's, not the skin's."""
    if reference is None or not reference.scores:
        return None
    same_scale = comparable(scores, reference.model_version, model_version)
    changes = {m: d for m, d in score_changes(scores, reference.scores).items() if m in same_scale}
    return ScoreDelta(
        scan_id=reference.scan_id,
        scan_date=reference.scan_date,
        changes=changes,
        # Per metric: is this change no larger than photo-to-photo noise? (app/providers/vision/noise.py)
        within_noise={
            metric: within_noise(metric, delta, scores[metric], reference.scores[metric])
            for metric, delta in changes.items()
        },
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


@dataclass
class ScanContext:
    """What a completed scan is compared with and labelled by, read beside its analysis."""

    previous: ScanRecord | None = None
    baseline: ScanRecord | None = None
    cycle: dict[str, Any] = field(default_factory=dict)


# The scan's context reads (previous scan, plan baseline, cycle day), run while its photo
# is analysed: they do not depend on the result, and waiting on DynamoDB for them after the
# analysis added their round trips to every scan's latency.
ScanContextReads = Beside[ScanContext]


@dataclass
class PreparedResult:
    """A scan's photos with their analysis, or the error that stopped it."""

    images: dict[str, bytes]
    vision: VisionProvider
    analysis: ScanAnalysis | None = None
    error: Exception | None = None


# How long a request waits for the worker's decode of its photos before decoding them itself
# (the worker was idle when it took them, so its decode starts at once).
EARLY_DECODE_WAIT_SECONDS = 30.0


class EarlyStart:
    """A one-call upload analysed while its request is still writing the scan.

    The request hands over the checked photos before it stores them and writes the item,
    which it writes already claimed for this worker (`claimed`); the analysis (and the
    overlay) run meanwhile, and only once the request says the item exists (`created`) does
    the worker record the result, as for a queued scan. A request that fails says `cancel`
    and the result is dropped.
    """

    def __init__(
        self, *, scan: ScanRecord, images: dict[str, bytes], lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> None:
        self.record = scan
        self.images = images
        self._lease = timedelta(seconds=lease_seconds)
        self._decided = threading.Event()
        self._created = False
        self._decode_told = threading.Event()
        self._decoded = False

    def photos_decoded(self, timeout: float = EARLY_DECODE_WAIT_SECONDS) -> bool:
        """Whether the worker decoded every photo without error (its decode is strict: see
        app/providers/vision/frames.py), so the request need not decode them again for its
        check. False (a damaged photo, a provider that does not decode, no word in time): the
        request decodes them itself, and refuses a damaged one as before."""
        return self._decode_told.wait(timeout) and self._decoded

    def decoded(self, ok: bool) -> None:
        """The worker's word on its decode; only the first counts."""
        if not self._decode_told.is_set():
            self._decoded = ok
            self._decode_told.set()

    def claimed(self) -> ScanRecord:
        """The scan as the request is to write it: already `processing` under this worker's
        lease, counted from now. The claim rides in the create's transaction, so the worker
        has no claim of its own to write once the item exists. Should this process die, the
        lease runs out and the recovery sweep claims the scan again (its job marker is
        written with it), exactly as for a scan claimed the usual way."""
        now = utc_now()
        self.record = self.record.model_copy(
            update={
                "status": "processing",
                "processing_started_at": now,
                "lease_expires_at": now + self._lease,
                "attempts": self.record.attempts + 1,
                "updated_at": now,
            }
        )
        return self.record

    def created(self) -> None:
        """The scan item is written (as `claimed()` made it): the worker may record it."""
        self._created = True
        self._decided.set()

    def cancel(self) -> None:
        """The request failed before the item existed: nothing is to be recorded."""
        self._decided.set()

    def wait_created(self, timeout: float) -> bool:
        """Whether the item was written (False if cancelled or not decided in time)."""
        return self._decided.wait(timeout) and self._created


# How long an early analysis waits for its request to write the scan; past it, the job
# marker (if the item was written after all) brings the scan back through the sweep.
EARLY_DECISION_SECONDS = 60.0


class AnalysisProcessor:
    """Runs one scan's analysis from claim to result; safe to call twice for one scan."""

    def __init__(
        self,
        *,
        scans: ScansRepository,
        storage: ImageStorage,
        vision: VisionProvider,
        baseline_lookup: BaselineLookup | None = None,
        vision_for: VisionSelector | None = None,
        on_finished: FinishedHook | None = None,
        cycle_lookup: CyclePositionLookup | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        latest_pointer: PointerLookup | None = None,
    ) -> None:
        self._scans = scans
        self.latest_pointer = latest_pointer
        self._storage = storage
        self._vision = vision
        self.baseline_lookup = baseline_lookup
        self.vision_for = vision_for
        self.on_finished = on_finished
        self.cycle_lookup: CyclePositionLookup = cycle_lookup or NoCycleTracking()
        self.lease_seconds = lease_seconds

    def process_early(self, early: EarlyStart) -> str | None:
        """Analyse an upload's photos while its request writes the scan, then record the result.

        The context reads start at once as well, so the overlay's storage write and the
        completion transaction are all that is left once the analysis is done: the request
        wrote the scan already claimed for this worker (`EarlyStart.claimed`), and the lease
        it took (ANALYSIS_LEASE_SECONDS) covers the analysis until the keeper starts."""
        scan = early.record
        context = self._context_reads(scan)
        try:
            prepared = self._prepare(scan.user_id, early.images, on_decoded=early.decoded)
            if not early.wait_created(EARLY_DECISION_SECONDS):
                logger.info(
                    "early analysis dropped: the scan was not written", extra={"scan_id": scan.scan_id}
                )
                return None
            claimed = early.record
            if claimed.status != "processing":  # written unclaimed: claim it the usual way
                claimed_now = self._claim(scan.user_id, scan.scan_id)
                if claimed_now is None:
                    return None  # another worker holds it
                claimed = claimed_now
            return self.process(
                scan.user_id, scan.scan_id, prepared=prepared, context=context, claimed=claimed
            )
        finally:
            context.wait()

    def _prepare(
        self, user_id: str, images: dict[str, bytes], *, on_decoded: Callable[[bool], None] | None = None
    ) -> PreparedResult:
        """The analysis of photos; an error is kept to be recorded after the claim.

        `on_decoded` (an early start): a provider that decodes the photos itself does so first
        and says whether all decoded, before analysing the decoded frames; the request then
        skips its own decode of them. It hears False on every other path."""
        vision = self.vision_for(user_id) if self.vision_for else self._vision
        prepared = PreparedResult(images=images, vision=vision)
        try:
            if on_decoded is not None and isinstance(vision, PhotoDecoder):
                decoded = vision.decode_photos(images)  # a damaged photo raises: the request refuses it
                on_decoded(True)
                prepared.analysis = vision.analyze(images, decoded=decoded)
            else:
                prepared.analysis = vision.analyze(images)
        except Exception as exc:  # noqa: BLE001 - raised again under the claim, as a normal analysis would
            prepared.error = exc
        finally:
            if on_decoded is not None:
                on_decoded(False)  # no-op once told
        return prepared

    def process(
        self,
        user_id: str,
        scan_id: str,
        *,
        prepared: PreparedResult | None = None,
        context: "ScanContextReads | None" = None,
        claimed: ScanRecord | None = None,
    ) -> str | None:
        """Claim and analyse; returns the final status, or None if another worker holds it.

        `prepared`, `context` and `claimed` come from an early start (the photos already
        analysed, the scan already claimed)."""
        scan = claimed or self._claim(user_id, scan_id)
        if scan is None:
            return None
        log = {"scan_id": scan_id, "attempt": scan.attempts}
        if scan.attempts > MAX_ATTEMPTS:
            # The process died mid-analysis this many times: stop, say so, let the user retry.
            updates = self._failure("too_many_attempts", "The analysis kept failing; retry the scan.")
            if self._scans.finish(scan=scan, updates=updates) and self.on_finished:
                self.on_finished(scan, updates)
            return "failed"
        logger.info("analysis started", extra=log)
        try:
            with LeaseKeeper(scans=self._scans, scan=scan, lease_seconds=self.lease_seconds):
                updates = self._analyse(scan, prepared=prepared, context=context)
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
        if self.on_finished:
            self.on_finished(scan, updates)
        return str(updates["status"])

    def _context_reads(self, scan: ScanRecord) -> ScanContextReads:
        return Beside(lambda: self._context(scan), name=f"analysis-context-{scan.scan_id}").start()

    def _claim(self, user_id: str, scan_id: str) -> ScanRecord | None:
        """queued → processing under a fresh lease; None if another worker holds it."""
        now = utc_now()
        lease_until = now + timedelta(seconds=self.lease_seconds)
        return self._scans.claim(user_id=user_id, scan_id=scan_id, now=iso(now), lease_until=iso(lease_until))

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

    def _analyse(
        self, scan: ScanRecord, *, prepared: PreparedResult | None, context: "ScanContextReads | None"
    ) -> dict[str, Any]:
        if prepared is not None and context is not None:
            return self._record(scan, prepared, context)
        images = {}
        for angle, key in scan.image_keys.items():
            data = self._storage.get(key=key)
            if data is None:
                raise AnalysisFailedError(
                    "A photo of this scan is missing from storage.", code="image_missing"
                )
            images[angle] = data
        reads = self._context_reads(scan)
        try:
            return self._record(scan, self._prepare(scan.user_id, images), reads)
        finally:
            reads.wait()  # on every path: no read outlives the claim it was made under

    def _context(self, scan: ScanRecord) -> ScanContext:
        """The previous usable scan, the plan's baseline and the cycle fields of this scan."""
        previous = self._previous(scan)
        baseline = self.baseline_lookup(scan.user_id) if self.baseline_lookup else None
        return ScanContext(previous=previous, baseline=baseline, cycle=self._cycle_fields(scan))

    def _record(self, scan: ScanRecord, prepared: PreparedResult, reads: ScanContextReads) -> dict[str, Any]:
        """The scan item's updates for an analysis result (the overlay stored first)."""
        if prepared.error is not None:
            raise prepared.error
        analysis = prepared.analysis
        assert analysis is not None
        # The overlay of a passed analysis is drawn, encoded and stored under the claim (so a
        # dropped or taken-over scan leaves none behind), beside the building of the result
        # (pydantic dumps: ≈ 5 ms that came before the overlay's start) and the wait for the
        # context reads; the completion is written only once it is stored, so a completed
        # scan's overlay link never answers 404.
        overlay = (
            Beside(
                lambda: self._store_overlay(scan, prepared, analysis), name=f"analysis-overlay-{scan.scan_id}"
            ).start()
            if analysis.passed_quality
            else None
        )
        try:
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
            if overlay is None:
                problems = [StoredProblem(code=p.code, message=p.message) for p in analysis.problems]
                first = problems[0].message if problems else "The photo did not pass the quality check."
                failure = ScanFailureRecord(code="quality_check_failed", message=first, problems=problems)
                return {**base, "status": "failed", "failure": failure.model_dump()}
            context = reads.result()
            previous, baseline = context.previous, context.baseline
            deltas = ScanDeltas(
                previous=delta_against(previous, analysis.scores, analysis.model_version),
                baseline=delta_against(baseline, analysis.scores, analysis.model_version)
                if baseline and baseline.scan_id != scan.scan_id
                else None,
            )
            result = {
                **base,
                "status": "completed",
                "scores": analysis.scores,
                "deltas": deltas.model_dump(),
                **context.cycle,
            }
        except BaseException:
            if overlay is not None:
                overlay.wait()
                self._storage.delete_prefix(prefix=overlay_key(scan.user_id, scan.scan_id))
            raise
        stored_overlay = overlay.result()
        return {**result, "overlay_key": stored_overlay} if stored_overlay else result

    def _store_overlay(
        self, scan: ScanRecord, prepared: PreparedResult, analysis: ScanAnalysis
    ) -> str | None:
        """Draw and store the overlay of a passed analysis; its storage key, or None if none."""
        data = self._render_overlay(prepared.images, analysis, prepared.vision)
        if data is None:
            return None
        key = overlay_key(scan.user_id, scan.scan_id)
        self._storage.put(key=key, data=data, content_type="image/jpeg")
        return key

    def _previous(self, scan: ScanRecord) -> ScanRecord | None:
        """The newest usable scan before this one: from the user's latest-scan pointer when it
        names an earlier scan (two small GetItems), else by the query, which parses up to 25
        full scan items and took most of the context reads' time for a user with many scans."""
        pointer = self.latest_pointer(scan.user_id) if self.latest_pointer else None
        if pointer == NO_POINTER:
            return None  # this account has never had a usable scan
        if pointer and pointer < scan.scan_id:
            found = self._scans.get(user_id=scan.user_id, scan_id=pointer)
            if found is not None and found.status == "completed" and found.passed_quality:
                return found
        # Unknown (an old account), a later scan finished first, or the scan is gone.
        return self._scans.latest_completed(user_id=scan.user_id, before_scan_id=scan.scan_id)

    def _cycle_fields(self, scan: ScanRecord) -> dict[str, Any]:
        """Cycle day and phase on the scan's date; nothing for users who do not log periods."""
        try:
            position = self.cycle_lookup.position_on(
                user_id=scan.user_id, on=date.fromisoformat(scan.scan_date[:10])
            )
        except DomainError as exc:
            # The scores matter more than the cycle label: the scan completes without it.
            logger.warning("cycle position unavailable: %s", exc.message, extra={"scan_id": scan.scan_id})
            return {}
        if position is None:
            return {}
        return {"cycle_day": position.cycle_day, "cycle_phase": position.phase.value}

    @staticmethod
    def _render_overlay(
        images: dict[str, bytes], analysis: ScanAnalysis, vision: VisionProvider
    ) -> bytes | None:
        """The annotated front photo of a result that passed the quality check."""
        front = next((a for a in analysis.angles if a.angle == "front"), None)
        if not analysis.passed_quality or front is None or "front" not in images:
            return None
        return vision.render_overlay(images["front"], front)

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
    """The analysis workers of one process; `enqueue` is what the scan service calls after a submit.

    With no shared queue (the default) jobs go to this process's thread pool. With a
    `JobQueue` (SQS) `enqueue` sends the job there and `workers` threads long-poll it, so
    any instance's workers may take it; the conditional claim in the scans table still
    decides who analyses. `workers=0` is an API-only instance: nothing runs here.
    """

    def __init__(
        self,
        *,
        processor: AnalysisProcessor,
        scans: ScansRepository,
        workers: int,
        sweep_seconds: float = 60.0,
        queue: JobQueue | None = None,
        queue_wait_seconds: int = 20,
        resend_after_seconds: float = 600.0,
    ) -> None:
        self._processor = processor
        self._scans = scans
        self._workers = workers
        self._sweep_seconds = sweep_seconds
        self._queue = queue
        self._queue_wait = queue_wait_seconds
        self._resend_after = timedelta(seconds=resend_after_seconds)
        self._executor: ThreadPoolExecutor | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._consumers: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._in_flight: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def queue_name(self) -> str:
        """Where submits go: `memory` (this process) or the shared queue's name."""
        return self._queue.name if self._queue else "memory"

    def enqueue(self, user_id: str, scan_id: str) -> None:
        if self._queue is not None:
            try:
                self._queue.send(user_id=user_id, scan_id=scan_id)
            except DomainError as exc:
                # The scan is queued in DynamoDB with its job marker: the recovery sweep sends it again.
                logger.warning("could not send the analysis job: %s", exc.message, extra={"scan_id": scan_id})
            return
        job = (user_id, scan_id)
        with self._lock:
            if self._executor is None or job in self._in_flight:
                return  # not started (e.g. a CLI): the marker makes the next start pick it up
            self._in_flight.add(job)
        self._executor.submit(self._run, job)

    def start_early(self, scan: ScanRecord, images: dict[str, bytes]) -> EarlyStart | None:
        """Begin analysing a one-call upload before its scan is written, if a worker here is
        idle (this process's queue only: a shared queue's worker may be anywhere). None: the
        caller enqueues as usual once the item exists."""
        if self._queue is not None:
            return None
        job = (scan.user_id, scan.scan_id)
        with self._lock:
            # Only onto an idle worker: a backlog would hold every waiting upload's photos in memory.
            if self._executor is None or job in self._in_flight or len(self._in_flight) >= self._workers:
                return None
            self._in_flight.add(job)
        early = EarlyStart(scan=scan, images=images, lease_seconds=self._processor.lease_seconds)
        self._executor.submit(self._run_early, job, early)
        return early

    def _run_early(self, job: tuple[str, str], early: EarlyStart) -> None:
        try:
            self._processor.process_early(early)
        except Exception:
            early.decoded(False)  # if it failed before its decode, the request must not wait for one
            logger.exception(
                "early analysis failed; the scan goes through the queue", extra={"scan_id": job[1]}
            )
            with self._lock:
                self._in_flight.discard(job)
            # The usual path claims it if it is still queued (a claimed one waits for its lease).
            self.enqueue(*job)
        else:
            with self._lock:
                self._in_flight.discard(job)

    def _run(self, job: tuple[str, str]) -> None:
        try:
            self._processor.process(*job)
        except Exception:
            logger.exception("analysis job could not be recorded", extra={"scan_id": job[1]})
        finally:
            with self._lock:
                self._in_flight.discard(job)

    def _consume(self, queue: JobQueue) -> None:
        """One long-polling worker thread: receive, analyse, then delete the message."""
        while not self._stopping.is_set():
            try:
                jobs = queue.receive(max_jobs=1, wait_seconds=self._queue_wait)
            except DomainError as exc:
                logger.warning("analysis queue unavailable: %s", exc.message)
                self._stopping.wait(5)
                continue
            for job in jobs:
                try:
                    self._processor.process(job.user_id, job.scan_id)
                except Exception:
                    # Not deleted: it comes back after the visibility timeout, and after the
                    # queue's maxReceiveCount receives it moves to the dead-letter queue.
                    logger.exception(
                        "analysis job could not be recorded",
                        extra={"scan_id": job.scan_id, "receive_count": job.receive_count},
                    )
                    continue
                # Analysed, failed for good, or claimed by another worker (whose own
                # message or the job marker covers it): this delivery is finished.
                try:
                    queue.done(job=job)
                except DomainError as exc:
                    logger.warning("could not delete an analysis job: %s", exc.message)

    def recover(self) -> int:
        """Queue every pending scan (after a crash or restart); returns how many."""
        if self._queue is not None:
            return self._resend_waiting()
        jobs = self._scans.pending_jobs()
        for user_id, scan_id in jobs:
            self.enqueue(user_id, scan_id)
        if jobs:
            logger.info("re-queued pending scans", extra={"count": len(jobs)})
        return len(jobs)

    def _resend_waiting(self) -> int:
        """Shared queue: send again only jobs pending longer than a delivery can take (a send
        that failed, a message that went to the dead-letter queue); fresh ones are in the queue."""
        cutoff = iso(utc_now() - self._resend_after)
        stale = [
            (u, s)
            for u, s, queued_at in self._scans.pending_job_times()
            if not queued_at or queued_at < cutoff
        ]
        for user_id, scan_id in stale:
            self.enqueue(user_id, scan_id)
        if stale:
            logger.info("re-sent pending scans to the analysis queue", extra={"count": len(stale)})
        return len(stale)

    def backlog(self) -> tuple[int, float | None]:
        """(scans queued or processing, age in seconds of the oldest), from the job markers."""
        times = self._scans.pending_job_times()
        stamps = [queued_at for _, _, queued_at in times if queued_at]
        if not stamps:
            return len(times), None
        oldest = datetime.fromisoformat(min(stamps).replace("Z", "+00:00"))
        return len(times), max(0.0, (utc_now() - oldest).total_seconds())

    async def start(self) -> None:
        if self._workers == 0:
            logger.info("analysis workers off in this process (ANALYSIS_WORKERS=0)")
            return
        self._stopping.clear()
        if self._queue is None:
            self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="analysis")
        else:
            for index in range(self._workers):
                thread = threading.Thread(
                    target=self._consume, args=(self._queue,), name=f"analysis-sqs-{index}", daemon=True
                )
                thread.start()
                self._consumers.append(thread)
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
        """Let jobs being analysed finish; queued ones keep their markers (or messages)."""
        if self._sweeper:
            self._sweeper.cancel()
            self._sweeper = None
        self._stopping.set()
        consumers, self._consumers = self._consumers, []
        for thread in consumers:
            # A long poll returns within SQS_WAIT_SECONDS; an analysis in progress finishes.
            await asyncio.to_thread(thread.join)
        if self._executor:
            executor, self._executor = self._executor, None
            # Queued-but-not-started jobs are dropped here; their markers bring them back.
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
