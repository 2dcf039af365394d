"""Photo speed against the cost of decoding the same JPEG: the analyser alone, and a one-call
upload until the scan is `completed` (the issue's targets: ≤ 2x a full decode at 12 MP, ≤ 15x
at 1 MP).

Builds 1 MP and 12 MP JPEGs from scikit-image's astronaut photo (a real face), plain and with
mild sensor-like noise (enlarged 512 px content is unusually smooth, so the plain JPEGs are
small and decode faster than a real phone photo of the same size), then times,
interleaved so machine noise hits all three alike:
  - full decode: cv2.imdecode(IMREAD_COLOR), the floor the speed target is measured against;
  - reduced decode: the DCT-scaled decode the provider itself uses for big JPEGs;
  - analyze: LocalVisionProvider.analyze({"front": jpeg}), decode included.
Then, end to end on DynamoDB Local with local storage (the app in-process behind Starlette's
TestClient, so real HTTP parsing, multipart, intake, queue, worker, analysis and writes):
  - upload → completed: POST /scans/upload with the photo until the worker's completion
    transaction returns (then confirmed by reading the scan item). Reading the item every 1 ms
    instead (`--poll-ms 0`, the earlier method) put ≈ 27 DynamoDB reads per scan on the same
    two cores as the analysis. Between repetitions the worker is let go idle.
  - `--spans`: when each stage starts and ends, from wrappers around the app's own objects.
Prints markdown tables with machine information; paste them into docs/BENCHMARKS.md.

Usage: .venv/bin/python bench/vision.py [--reps-1mp 40] [--reps-12mp 12] [--upload-reps 8]
       [--spans] [--poll-ms N] [--skip-analysis]
"""

import argparse
import datetime as dt
import functools
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.providers.vision.frames import REDUCED_FLAGS, decode
from app.providers.vision.local import LocalVisionProvider

# Portrait (3:4) crop of the 512x512 astronaut around her face, so the face fills the frame as
# in a selfie (~10% of the area); the full frame's face is at the 4% minimum.
CROP_ROWS = slice(0, 400)
CROP_COLS = slice(90, 390)
SIZES: dict[str, tuple[int, int]] = {"1 MP": (866, 1155), "12 MP": (3000, 4000)}
JPEG_QUALITY = 90
NOISE_SIGMA = 4.0  # grey levels; a phone sensor's noise at indoor light is of this order


def build_jpeg(*, size: tuple[int, int], noise: float = 0.0) -> bytes:
    """The astronaut portrait crop resized to size (w, h), optionally with noise, as JPEG bytes."""
    rgb = skimage.data.astronaut()[CROP_ROWS, CROP_COLS]
    bgr = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), size, interpolation=cv2.INTER_CUBIC)
    if noise:
        grain = np.random.default_rng(0).normal(0.0, noise, bgr.shape[:2])[..., None]
        bgr = np.clip(bgr + grain, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def as_phone_portrait(jpeg: bytes) -> bytes:
    """The photo as a phone stores a portrait: the pixels coded a quarter turn round (a
    landscape sensor), EXIF orientation 6 telling viewers to turn them back, plus the camera
    and GPS tags phones write. Re-encoded once here, at the bench's JPEG quality."""
    upright = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    ok, buf = cv2.imencode(
        ".jpg", cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "BenchPhone", "BenchPhone 15", 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    payload = b"Exif\x00\x00" + exif.tobytes()
    segment = b"\xff\xe1" + len(payload + b"..").to_bytes(2, "big") + payload
    return buf[:2].tobytes() + segment + buf[2:].tobytes()


def elapsed_ms(fn: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else platform.processor()."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_info() -> list[str]:
    """Lines describing where the numbers come from."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu_model()}; nproc: {usable}; load average at start: {os.getloadavg()[0]:.2f}",
        f"- Python {platform.python_version()}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), "
        f"NumPy {np.__version__}, {platform.system()} {platform.release()}",
    ]


def bench(*, label: str, jpeg: bytes, reps: int, provider: LocalVisionProvider) -> dict[str, object]:
    """Median timings for one image, the three measurements interleaved per repetition."""
    buf = np.frombuffer(jpeg, np.uint8)
    reduction = decode(data=jpeg, min_side=provider.decode_min_side).reduction
    reduced_flag = REDUCED_FLAGS[reduction]
    result = provider.analyze({"front": jpeg})  # warm-up: loads the cascade, checks the gate
    if not result.passed_quality:
        raise RuntimeError(f"{label}: the benchmark photo failed the quality gate: {result.problems}")
    full, reduced, analyze = [], [], []
    for _ in range(reps):
        full.append(elapsed_ms(lambda: cv2.imdecode(buf, cv2.IMREAD_COLOR)))
        reduced.append(elapsed_ms(lambda: cv2.imdecode(buf, reduced_flag)))
        analyze.append(elapsed_ms(lambda: provider.analyze({"front": jpeg})))
    med_full, med_reduced, med_analyze = (statistics.median(v) for v in (full, reduced, analyze))
    return {
        "label": label,
        "kb": len(jpeg) / 1024,
        "reduction": reduction,
        "full": med_full,
        "reduced": med_reduced,
        "analyze": med_analyze,
        "ratio": med_analyze / med_full,
        "reps": reps,
    }


def table(rows: list[dict[str, object]]) -> list[str]:
    """Markdown table of the benchmark rows."""
    lines = [
        "| photo | JPEG | reps | full decode (floor) | reduced decode used | analyze (incl. decode) "
        "| analyze / full decode |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        reduced = f"{r['reduced']:.1f} ms (1/{r['reduction']})" if r["reduction"] != 1 else "— (full)"
        lines.append(
            f"| {r['label']} | {r['kb']:.0f} KB | {r['reps']} | {r['full']:.1f} ms | {reduced} "
            f"| {r['analyze']:.1f} ms | **{r['ratio']:.2f}x** |"
        )
    return lines


class Spans:
    """Wall-time spans of one upload's stages, recorded by wrapping the app's own objects
    (nothing in the app is changed; each wrapper adds a few microseconds)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def wrap(self, owner: object, name: str, label: str) -> None:
        """Time every call of owner.name under label."""
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def timed(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                # The request's spans only: the worker reads the user too (the pointer, the notification).
                if not (label == "users.get" and threading.current_thread().name.startswith("analysis")):
                    with self._lock:
                        self.events.append((label, start, time.perf_counter()))

        setattr(owner, name, timed)

    def take(self) -> list[tuple[str, float, float]]:
        with self._lock:
            events, self.events = self.events, []
        return events


# The stages of one upload, in the order they begin: (label in the table, span name).
TIMELINE: tuple[tuple[str, str], ...] = (
    ("request: user read (auth)", "users.get"),
    ("request: daily quota (rate-limit write)", "quota"),
    ("request: photo header check and metadata cut (beside the quota write)", "check_photo"),
    ("request: hand-over to an idle worker (early start)", "start_early"),
    ("request: photo check done (its own 1/8-scale decode before session 7)", "photo_complete"),
    ("request: waiting for the worker's decode (the photo's check)", "decode_wait"),
    ("request: storage write (photo)", "put_photo"),
    ("request: DynamoDB create (scan + job marker, one transaction)", "create_queued"),
    ("request: enqueue (no idle worker)", "enqueue"),
    ("POST answered (202)", "post"),
    ("worker: decode (early start: the request's check)", "decode_photos"),
    ("worker: analysis (face, mesh, metrics; the decode too, unless decoded first)", "analyze"),
    ("worker: overlay render", "render_overlay"),
    ("worker: context reads (previous scan, baseline, cycle), beside the analysis", "context_reads"),
    ("worker: storage read (photo; queued path only)", "storage_get"),
    ("worker: claim (conditional update; none since session 7's pre-claimed early start)", "claim"),
    ("worker: overlay storage write", "put_overlay"),
    ("worker: waiting on the context reads", "context_wait"),
    ("worker: completion transaction", "finish"),
)


def _timeline(
    events: list[tuple[str, float, float]], started: float, done: float
) -> dict[str, tuple[float, float]]:
    """Span name → (start, end) in ms from the POST's start (first start, last end)."""
    spans: dict[str, tuple[float, float]] = {}
    for label, a, b in events:
        lo, hi = (a - started) * 1000, (b - started) * 1000
        if label in spans:
            lo, hi = min(lo, spans[label][0]), max(hi, spans[label][1])
        spans[label] = (lo, hi)
    spans["total"] = (0.0, (done - started) * 1000)
    return spans


def upload_to_completed(
    *, photos: dict[str, bytes], reps: int, poll_ms: float | None = None, spans: bool = False
) -> tuple[list[dict[str, object]], dict[str, list[dict[str, tuple[float, float]]]]]:
    """Median wall time of a one-call upload until `completed`, beside the full decode's.

    Completion is the moment the worker's completion transaction returns (a wrapper on the
    repository's `finish` sets an event), confirmed by reading the scan item; `poll_ms`
    instead reads the item every that many ms, as a client would. Between repetitions the
    bench waits for the worker to be idle (the notification written after a result is not
    part of the next upload). `spans` records each stage's time (see SPAN_ROWS)."""
    import tempfile

    from fastapi.testclient import TestClient

    import app.scans.creation as creation
    from app.core.config import Settings
    from app.main import create_app
    from bench.stack import PASSWORD, SECRET, dynamodb_local

    rows: list[dict[str, object]] = []
    breakdown: dict[str, list[dict[str, tuple[float, float]]]] = {}
    recorder = Spans()
    with dynamodb_local() as endpoint, tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="development",
            aws_dynamodb_endpoint=endpoint,
            dermalens_data_dir=Path(data_dir),
            secret_key=SECRET,
            scans_per_day=100_000,
            photo_checks_per_day=100_000,
            log_level="WARNING",
        )
        import app.scans.intake as intake

        original_check, original_complete = creation.check_photo, intake.PhotoCheck.complete
        with TestClient(create_app(settings)) as client:
            container = client.app.state.container  # type: ignore[attr-defined]
            repo, processor = container.scans_repo, container.analysis
            finished: dict[str, threading.Event] = {}
            idle = threading.Event()
            original_finish, original_process = repo.finish, processor.process

            def finish(*, scan: object, updates: dict[str, object]) -> bool:
                start = time.perf_counter()
                recorded = original_finish(scan=scan, updates=updates)
                recorder.events.append(("finish", start, time.perf_counter()))
                finished.setdefault(scan.scan_id, threading.Event()).set()  # type: ignore[attr-defined]
                return bool(recorded)

            def process(user_id: str, scan_id: str, **kwargs: object) -> object:
                try:
                    return original_process(user_id, scan_id, **kwargs)
                finally:
                    idle.set()

            repo.finish, processor.process = finish, process
            if spans:
                storage = container.storage
                original_put = storage.put

                def put(*, key: str, data: bytes, content_type: str) -> None:
                    start = time.perf_counter()
                    original_put(key=key, data=data, content_type=content_type)
                    label = "put_overlay" if "overlay" in key else "put_photo"
                    recorder.events.append((label, start, time.perf_counter()))

                storage.put = put
                recorder.wrap(creation, "check_photo", "check_photo")
                recorder.wrap(intake.PhotoCheck, "complete", "photo_complete")
                recorder.wrap(container.users, "get", "users.get")
                recorder.wrap(container.scans._creator._quota, "charge_scan", "quota")
                recorder.wrap(container.scans._creator, "_enqueue", "enqueue")
                recorder.wrap(container.scans._creator, "_start_early", "start_early")
                recorder.wrap(repo, "create_queued", "create_queued")
                recorder.wrap(repo, "claim", "claim")
                recorder.wrap(storage, "get", "storage_get")
                recorder.wrap(processor._vision, "analyze", "analyze")
                import app.scans.worker as worker_module

                # Session 7's decode once (absent from older trees).
                if hasattr(processor._vision, "decode_photos"):
                    recorder.wrap(processor._vision, "decode_photos", "decode_photos")
                if hasattr(worker_module.EarlyStart, "photos_decoded"):
                    recorder.wrap(worker_module.EarlyStart, "photos_decoded", "decode_wait")
                recorder.wrap(processor._vision, "render_overlay", "render_overlay")
                recorder.wrap(processor, "_context", "context_reads")

                original_result = worker_module.Beside.result

                def result(self: object) -> object:
                    start = time.perf_counter()
                    try:
                        return original_result(self)  # type: ignore[arg-type]
                    finally:
                        # Only the context reads' wait (the claim is waited on the same way).
                        if self._thread.name.startswith("analysis-context"):  # type: ignore[attr-defined]
                            recorder.events.append(("context_wait", start, time.perf_counter()))

                worker_module.Beside.result = result  # type: ignore[method-assign]
            body = client.post(
                "/api/v1/auth/register", json={"email": "vision-bench@example.com", "password": PASSWORD}
            ).json()
            headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
            user_id = body["user"]["user_id"]

            def one(jpeg: bytes) -> tuple[float, list[tuple[str, float, float]], float, float]:
                recorder.take()
                idle.clear()
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/scans/upload", headers=headers, files={"front": ("face.jpg", jpeg, "image/jpeg")}
                )
                recorder.events.append(("post", started, time.perf_counter()))
                if response.status_code != 202:
                    raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
                scan_id = response.json()["scan_id"]
                if poll_ms is None and not finished.setdefault(scan_id, threading.Event()).wait(120):
                    raise RuntimeError("the benchmark scan did not finish")
                done = time.perf_counter()
                while True:
                    scan = repo.get(user_id=user_id, scan_id=scan_id)
                    if scan is not None and scan.status in {"completed", "failed"}:
                        break
                    time.sleep(poll_ms / 1000 if poll_ms else 0.001)
                if poll_ms is not None:
                    done = time.perf_counter()
                if scan.status != "completed":
                    raise RuntimeError(f"the benchmark scan failed: {scan.failure}")
                idle.wait(60)  # the result's notification and the next-rescan reminder
                time.sleep(0.05)  # and the context thread's last socket read
                return (done - started) * 1000.0, recorder.take(), started, done

            for label, jpeg in photos.items():
                buf = np.frombuffer(jpeg, np.uint8)
                one(jpeg)  # warm-up
                full, total = [], []
                for _ in range(reps):
                    full.append(elapsed_ms(lambda buf=buf: cv2.imdecode(buf, cv2.IMREAD_COLOR)))
                    ms, events, started, done = one(jpeg)
                    total.append(ms)
                    if spans:
                        breakdown.setdefault(label, []).append(_timeline(events, started, done))
                med_full, med_total = statistics.median(full), statistics.median(total)
                rows.append(
                    {
                        "label": label,
                        "kb": len(jpeg) / 1024,
                        "full": med_full,
                        "total": med_total,
                        # On a busy machine the fastest repetitions are the closest to a quiet one.
                        "fastest_full": min(full),
                        "fastest_total": min(total),
                        "reps": reps,
                    }
                )
        creation.check_photo, intake.PhotoCheck.complete = original_check, original_complete  # type: ignore[method-assign]
    return rows, breakdown


def spans_table(breakdown: dict[str, list[dict[str, tuple[float, float]]]]) -> list[str]:
    """Markdown: per stage and photo, median start → end in ms from the upload's start."""
    labels = list(breakdown)
    lines = [
        "| stage (ms from the POST's start) | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for title, key in (*TIMELINE, ("**completed** (median of totals)", "total")):
        cells = []
        for label in labels:
            runs = [r[key] for r in breakdown[label] if key in r]
            if not runs:
                cells.append("—")
                continue
            lo, hi = statistics.median(a for a, _ in runs), statistics.median(b for _, b in runs)
            cells.append(f"{lo:.1f} → {hi:.1f} ({hi - lo:.1f})" if key != "total" else f"**{hi:.1f}**")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


UPLOAD_TARGETS = {"1 MP": 15.0, "12 MP": 2.0}


def upload_table(rows: list[dict[str, object]]) -> list[str]:
    lines = [
        "| photo | JPEG | reps | full decode | upload → completed | ÷ full decode | target "
        "| fastest: decode, upload, ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        target = UPLOAD_TARGETS[" ".join(str(r["label"]).split()[:2])]  # "12 MP ..." → "12 MP"
        ratio = float(r["total"]) / float(r["full"])  # type: ignore[arg-type]
        fastest = float(r["fastest_total"]) / float(r["fastest_full"])  # type: ignore[arg-type]
        verdict = "met" if ratio <= target else "not met"
        lines.append(
            f"| {r['label']} | {r['kb']:.0f} KB | {r['reps']} | {r['full']:.1f} ms | {r['total']:.1f} ms "
            f"| **{ratio:.1f}x** | ≤ {target:g}x ({verdict}) "
            f"| {r['fastest_full']:.1f} ms, {r['fastest_total']:.1f} ms, {fastest:.1f}x |"
        )
    return lines


def main() -> None:
    """Run the benchmark and print markdown."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps-1mp", type=int, default=40)
    parser.add_argument("--reps-12mp", type=int, default=12)
    parser.add_argument("--upload-reps", type=int, default=8)
    parser.add_argument("--skip-analysis", action="store_true", help="only the upload → completed table")
    parser.add_argument("--spans", action="store_true", help="also the per-stage breakdown of the upload")
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=None,
        help="detect completion by reading the scan every N ms (0: 1 ms)",
    )
    args = parser.parse_args()
    provider = LocalVisionProvider()
    reps = {"1 MP": args.reps_1mp, "12 MP": args.reps_12mp}
    rows = []
    photos: dict[str, bytes] = {}
    for noise in (0.0, NOISE_SIGMA):
        for label, size in SIZES.items():
            name = f"{label} ({size[0]}x{size[1]})" + (f" + noise sigma {noise:g}" if noise else "")
            jpeg = build_jpeg(size=size, noise=noise)
            if noise:
                photos[name] = jpeg
                if label == "12 MP":
                    # Most phone portraits: coded sideways, turned by EXIF (kept without a re-encode).
                    photos[f"{label} phone portrait ({size[1]}x{size[0]} coded, EXIF orientation 6)"] = (
                        as_phone_portrait(jpeg)
                    )
            if not args.skip_analysis:
                rows.append(bench(label=name, jpeg=jpeg, reps=reps[label], provider=provider))
    print("\n".join(machine_info()))
    if rows:
        print("\n".join(["", "Analyser alone:", "", *table(rows)]))
        print("\nMedians per repetition; the three timings are interleaved within each repetition.")
    uploads, breakdown = upload_to_completed(
        photos=photos, reps=args.upload_reps, poll_ms=args.poll_ms, spans=args.spans
    )
    seen = (
        "the completion transaction's return"
        if args.poll_ms is None
        else f"reading the scan every {args.poll_ms or 1:g} ms"
    )
    print(
        "\n".join(
            [
                "",
                f"One-call upload until `completed` (in-process app, DynamoDB Local, local storage; completion: {seen}):",
                "",
            ]
        )
    )
    print("\n".join(upload_table(uploads)))
    if breakdown:
        print(
            "\n".join(
                ["", "Where the upload's time goes (median ms per stage):", "", *spans_table(breakdown)]
            )
        )


if __name__ == "__main__":
    main()
