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
  - upload → completed: POST /scans/upload with the photo, then the scan item read until its
    status is `completed` (every 1 ms, straight from the repository so polling costs little).
Prints markdown tables with machine information; paste them into docs/BENCHMARKS.md.

Usage: .venv/bin/python bench/vision.py [--reps-1mp 40] [--reps-12mp 12] [--upload-reps 8]
"""

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import skimage.data

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


def upload_to_completed(*, photos: dict[str, bytes], reps: int) -> list[dict[str, object]]:
    """Median wall time of a one-call upload until `completed`, beside the full decode's."""
    import tempfile

    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app
    from bench.stack import PASSWORD, SECRET, dynamodb_local

    rows: list[dict[str, object]] = []
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
        with TestClient(create_app(settings)) as client:
            container = client.app.state.container  # type: ignore[attr-defined]
            body = client.post(
                "/api/v1/auth/register", json={"email": "vision-bench@example.com", "password": PASSWORD}
            ).json()
            headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
            user_id = body["user"]["user_id"]

            def one(jpeg: bytes) -> float:
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/scans/upload", headers=headers, files={"front": ("face.jpg", jpeg, "image/jpeg")}
                )
                if response.status_code != 202:
                    raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
                scan_id = response.json()["scan_id"]
                while True:
                    scan = container.scans_repo.get(user_id=user_id, scan_id=scan_id)
                    if scan is not None and scan.status in {"completed", "failed"}:
                        break
                    time.sleep(0.001)
                if scan.status != "completed":
                    raise RuntimeError(f"the benchmark scan failed: {scan.failure}")
                return (time.perf_counter() - started) * 1000.0

            for label, jpeg in photos.items():
                buf = np.frombuffer(jpeg, np.uint8)
                one(jpeg)  # warm-up
                full, total = [], []
                for _ in range(reps):
                    full.append(elapsed_ms(lambda buf=buf: cv2.imdecode(buf, cv2.IMREAD_COLOR)))
                    total.append(one(jpeg))
                med_full, med_total = statistics.median(full), statistics.median(total)
                rows.append(
                    {
                        "label": label,
                        "kb": len(jpeg) / 1024,
                        "full": med_full,
                        "total": med_total,
                        "reps": reps,
                    }
                )
    return rows


UPLOAD_TARGETS = {"1 MP": 15.0, "12 MP": 2.0}


def upload_table(rows: list[dict[str, object]]) -> list[str]:
    lines = [
        "| photo | JPEG | reps | full decode | upload → completed | ÷ full decode | target |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        target = UPLOAD_TARGETS[str(r["label"]).split(" (")[0]]
        ratio = float(r["total"]) / float(r["full"])  # type: ignore[arg-type]
        verdict = "met" if ratio <= target else "not met"
        lines.append(
            f"| {r['label']} | {r['kb']:.0f} KB | {r['reps']} | {r['full']:.1f} ms | {r['total']:.1f} ms "
            f"| **{ratio:.1f}x** | ≤ {target:g}x ({verdict}) |"
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
            if not args.skip_analysis:
                rows.append(bench(label=name, jpeg=jpeg, reps=reps[label], provider=provider))
    print("\n".join(machine_info()))
    if rows:
        print("\n".join(["", "Analyser alone:", "", *table(rows)]))
        print("\nMedians per repetition; the three timings are interleaved within each repetition.")
    uploads = upload_to_completed(photos=photos, reps=args.upload_reps)
    print(
        "\n".join(
            ["", "One-call upload until `completed` (in-process app, DynamoDB Local, local storage):", ""]
        )
    )
    print("\n".join(upload_table(uploads)))


if __name__ == "__main__":
    main()
