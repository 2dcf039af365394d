"""Fault tolerance that is too slow for CI. `python bench/faults.py SCENARIO [options]`.

Everything runs for real on this machine: DynamoDB Local (on a -dbPath under a temporary
directory), the API as a `uvicorn` subprocess, HTTP through httpx, photos from
scikit-image's astronaut. Prints Markdown for docs/BENCHMARKS.md.

- `soak` (default 600 s): mixed load (profile, scan list, scan read, chat, sign-in, one-call
  photo upload) from `--threads` clients; every answer's status, p50/p95/p99 per kind, and
  the API process's RSS sampled every 30 s (start after warm-up, end, peak).
- `dynamodb-kill`: `--cycles` times, DynamoDB Local SIGKILLed under load and restarted on
  the same data: answers other than 2xx/503, the slowest answer, acknowledged writes missing.
- `app-kill`: `--cycles` times, the API SIGKILLed while scans are analysed and restarted:
  how many submitted scans end completed / failed, and the longest time to finish.
- `gemini-slow`: a fake Gemini (the tests' server) that answers after `--delay` seconds or
  500s: `/auth/me` latency idle and while 16 chats wait on it, and how long the chats take.
"""

import argparse
import datetime as dt
import io
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.config import Settings  # noqa: E402
from app.db.local_dynamodb import DynamoDBLocal, free_port  # noqa: E402

PASSWORD = "correct horse battery"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def face_jpeg() -> bytes:
    """The astronaut portrait at 1024 px, JPEG q95 (what the tests upload too)."""
    from skimage import data

    picture = Image.fromarray(data.astronaut()).resize((1024, 1024), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=95)
    return out.getvalue()


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Api:
    """The API as a uvicorn subprocess (start/kill/restart) on a fixed port and data dir."""

    def __init__(self, *, workdir: Path, endpoint: str, **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        names = {name.upper() for name in Settings.model_fields}
        self.env = {k: v for k, v in os.environ.items() if k not in names}
        self.env.update(
            PYTHONPATH=str(ROOT),
            ENVIRONMENT="test",
            SECRET_KEY=SECRET,
            AWS_DYNAMODB_ENDPOINT=endpoint,
            DERMALENS_DATA_DIR=str(workdir / "data"),
            LOG_LEVEL="WARNING",
            CHAT_MESSAGES_PER_MINUTE="100000",
            SCANS_PER_DAY="100000",
            PHOTO_CHECKS_PER_DAY="100000",
            LOGIN_IP_LOCKOUT_THRESHOLD="100000",
            LOGIN_ACCOUNT_FAILURES_PER_HOUR="100000",
            REGISTER_PER_IP_PER_HOUR="100000",
            **settings,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> float:
        """Start and wait for /health/ready; returns the seconds it took."""
        started = time.monotonic()
        log = (self.workdir / "api.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(self.port)],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        while True:
            if self.process.poll() is not None:
                raise RuntimeError((self.workdir / "api.log").read_text()[-3000:])
            if time.monotonic() - started > timeout:
                raise RuntimeError("the API did not become ready")
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def environment(**settings: str) -> Iterator[tuple[Api, DynamoDBLocal, Path]]:
    """DynamoDB Local on a -dbPath and the API against it, both stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="dermalens-faults-") as tmp:
        workdir = Path(tmp)
        local = DynamoDBLocal(port=free_port(), data_dir=workdir / "ddb").start()
        api = Api(workdir=workdir, endpoint=local.endpoint, **settings)
        try:
            api.start()
            yield api, local, workdir
        finally:
            api.stop()
            local.stop()


def sign_up(base: str, count: int) -> list[dict[str, str]]:
    """`count` fresh users: email and bearer headers."""
    users = []
    for index in range(count):
        email = f"bench-{time.time_ns()}-{index}@example.com"
        body = httpx.post(
            f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD}, timeout=60
        ).json()
        users.append({"email": email, "Authorization": f"Bearer {body['tokens']['access_token']}"})
    return users


class Load:
    """Mixed load from threads until stopped; every answer recorded."""

    MIX = ("me", "scans", "me", "chat", "scan", "me", "scans", "chat", "login", "upload")

    def __init__(self, base: str, users: list[dict[str, str]], photo: bytes, *, mix: tuple[str, ...] = MIX):
        self.base = base
        self.users = users
        self.photo = photo
        self.mix = mix
        self.stop = threading.Event()
        self.lock = threading.Lock()
        # (kind, status, sent at, seconds, body)
        self.answers: list[tuple[str, int, float, float, Any]] = []
        self.acknowledged: list[tuple[str, dict[str, str], str]] = []  # (kind, headers, id)
        self.scan_ids: dict[str, list[str]] = defaultdict(list)

    def run(self, threads: int) -> list[threading.Thread]:
        workers = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(threads)]
        for worker in workers:
            worker.start()
        return workers

    def _loop(self, offset: int) -> None:
        step = offset
        with httpx.Client(base_url=self.base, timeout=120) as http:
            while not self.stop.is_set():
                user = self.users[step % len(self.users)]
                kind = self.mix[step % len(self.mix)]
                step += 1
                sent = time.monotonic()
                try:
                    response = self._request(http, kind, user)
                    status = response.status_code
                    body = response.json() if response.content else None
                except httpx.TransportError as exc:
                    status, body = 0, type(exc).__name__
                elapsed = time.monotonic() - sent
                with self.lock:
                    self.answers.append((kind, status, sent, elapsed, body))
                    if 200 <= status < 300 and isinstance(body, dict):
                        self._note_write(kind, user, body)
                        if kind == "login":
                            # As the app does: the newest sign-in's token. The oldest sessions
                            # go once MAX_SESSIONS_PER_USER is reached, with their tokens.
                            user["Authorization"] = f"Bearer {body['access_token']}"

    def _request(self, http: httpx.Client, kind: str, user: dict[str, str]) -> httpx.Response:
        headers = {"Authorization": user["Authorization"]}
        if kind == "me":
            return http.get("/api/v1/auth/me", headers=headers)
        if kind == "scans":
            return http.get("/api/v1/scans", params={"limit": 20}, headers=headers)
        if kind == "scan":
            ids = self.scan_ids.get(user["email"])
            if not ids:
                return http.get("/api/v1/auth/me", headers=headers)
            return http.get(f"/api/v1/scans/{ids[-1]}", headers=headers)
        if kind == "chat":
            return http.post("/api/v1/chat/messages", headers=headers, json={"content": "Is niacinamide ok?"})
        if kind == "login":
            return http.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
        if kind == "upload":
            files = {"front": ("front.jpg", self.photo, "image/jpeg")}
            return http.post("/api/v1/scans/upload", headers=headers, files=files)
        if kind == "new_scan":
            return http.post("/api/v1/scans", headers=headers, json={"angles": ["front"]})
        raise ValueError(kind)

    def _note_write(self, kind: str, user: dict[str, str], body: dict[str, Any]) -> None:
        headers = {"Authorization": user["Authorization"]}
        if kind == "chat":
            self.acknowledged.append(
                ("chat", headers, body["session_id"] + "/" + body["user_message"]["message_id"])
            )
        elif kind in ("upload", "new_scan"):
            self.acknowledged.append(("scan", headers, body["scan_id"]))
            self.scan_ids[user["email"]].append(body["scan_id"])

    def missing_writes(self) -> int:
        """Acknowledged writes that cannot be read back now."""
        missing = 0
        with httpx.Client(base_url=self.base, timeout=60) as http:
            for kind, headers, ident in self.acknowledged:
                if kind == "scan":
                    ok = http.get(f"/api/v1/scans/{ident}", headers=headers).status_code == 200
                else:
                    session_id, message_id = ident.split("/")
                    page = http.get(
                        f"/api/v1/chat/sessions/{session_id}/messages", headers=headers, params={"limit": 100}
                    ).json()
                    ok = any(m["message_id"] == message_id for m in page.get("items", []))
                missing += not ok
        return missing


def latency_table(answers: list[tuple[str, int, float, float, Any]]) -> str:
    by_kind: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    for kind, status, _, elapsed, _ in answers:
        by_kind[kind].append(elapsed * 1000)
        statuses[kind][status] += 1
    rows = ["| request | answers | statuses | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|"]
    for kind in sorted(by_kind):
        times = by_kind[kind]
        shown = ", ".join(f"{s} x{n}" for s, n in sorted(statuses[kind].items()))
        rows.append(
            f"| {kind} | {len(times)} | {shown} | {percentile(times, 50):.0f} | "
            f"{percentile(times, 95):.0f} | {percentile(times, 99):.0f} |"
        )
    return "\n".join(rows)


# ---- scenarios ----


def soak(args: argparse.Namespace) -> None:
    photo = face_jpeg()
    with environment() as (api, _, _):
        users = sign_up(api.base, 16)
        load = Load(api.base, users, photo)
        assert api.process is not None
        pid = api.process.pid
        workers = load.run(args.threads)
        time.sleep(min(30.0, args.seconds / 10))  # warm-up: models loaded, pools filled
        samples = [(0.0, rss_mib(pid))]
        warm_count = len(load.answers)
        started = time.monotonic()
        while time.monotonic() - started < args.seconds:
            time.sleep(max(0.1, min(5.0, args.seconds - (time.monotonic() - started))))
            samples.append((time.monotonic() - started, rss_mib(pid)))
        load.stop.set()
        for worker in workers:
            worker.join(timeout=180)
        measured = load.answers[warm_count:]
        errors = [(k, s, b) for k, s, _, _, b in load.answers if not 200 <= s < 300]
        missing = load.missing_writes()
        causes = Counter(
            line.split("dependency unavailable: ", 1)[1].split('"', 1)[0]
            for line in (api.workdir / "api.log").read_text().splitlines()
            if "dependency unavailable: " in line
        )
    print(f"### Soak: {args.seconds:.0f} s of mixed load, {args.threads} clients\n")
    print(latency_table(measured))
    print(
        f"\nanswers {len(measured)} ({len(measured) / args.seconds:.1f}/s), errors {len(errors)}"
        f"{' ' + str(Counter((k, s) for k, s, _ in errors)) if errors else ''}, acknowledged writes "
        f"{len(load.acknowledged)}, missing afterwards {missing}"
    )
    if causes:
        print(f"503 causes (API log): {dict(causes)}")
    rss = [mib for _, mib in samples]
    first = [mib for t, mib in samples if t <= 60]
    last = [mib for t, mib in samples if t >= samples[-1][0] - 60]
    print(
        f"RSS of the API (every 5 s): start (after warm-up) {rss[0]:.0f} MiB, end {rss[-1]:.0f} MiB; "
        f"median of the first minute {statistics.median(first):.0f} MiB, of the last minute "
        f"{statistics.median(last):.0f} MiB; min {min(rss):.0f}, peak {max(rss):.0f} MiB; per minute (median): "
        + ", ".join(
            f"{minute}m {statistics.median([m for t, m in samples if minute * 60 <= t < (minute + 1) * 60]):.0f}"
            for minute in range(int(samples[-1][0] // 60))
        )
    )


def dynamodb_kill(args: argparse.Namespace) -> None:
    photo = face_jpeg()
    mix = ("me", "chat", "scans", "new_scan", "me", "chat", "login")
    with environment(AWS_READ_TIMEOUT_SECONDS="3") as (api, local, workdir):
        users = sign_up(api.base, 8)
        load = Load(api.base, users, photo, mix=mix)
        workers = load.run(args.threads)
        outages = []
        for _ in range(args.cycles):
            time.sleep(5)
            killed = time.monotonic()
            assert local.process is not None
            local.process.kill()
            local.process.wait(timeout=10)
            time.sleep(3)
            local = DynamoDBLocal(port=local.port, data_dir=workdir / "ddb").start()
            while httpx.get(f"{api.base}/health/ready", timeout=10).status_code != 200:
                time.sleep(0.2)
            outages.append(time.monotonic() - killed)
        time.sleep(5)
        load.stop.set()
        for worker in workers:
            worker.join(timeout=120)
        missing = load.missing_writes()
        local.stop()
    statuses = Counter(s for _, s, _, _, _ in load.answers)
    bad = {s: n for s, n in statuses.items() if not (200 <= s < 300 or s == 503)}
    slowest = max(e for _, _, _, e, _ in load.answers)
    print(f"### DynamoDB Local SIGKILLed {args.cycles} times under load ({args.threads} clients)\n")
    print(latency_table(load.answers))
    print(
        f"\nstatuses {dict(sorted(statuses.items()))}; other than 2xx/503: {bad or 'none'}; slowest answer "
        f"{slowest:.1f} s; outage (kill → ready) {', '.join(f'{o:.1f} s' for o in outages)}; "
        f"acknowledged writes {len(load.acknowledged)}, missing after recovery {missing}"
    )


def app_kill(args: argparse.Namespace) -> None:
    photo = face_jpeg()
    lease = "5"
    with environment(ANALYSIS_WORKERS="1", ANALYSIS_LEASE_SECONDS=lease, ANALYSIS_SWEEP_SECONDS="2") as (
        api,
        _,
        _,
    ):
        [user] = sign_up(api.base, 1)
        headers = {"Authorization": user["Authorization"]}
        submitted: list[str] = []
        restarts = []
        for _ in range(args.cycles):
            for _ in range(4):
                files = {"front": ("front.jpg", photo, "image/jpeg")}
                accepted = httpx.post(
                    f"{api.base}/api/v1/scans/upload", headers=headers, files=files, timeout=60
                )
                submitted.append(accepted.json()["scan_id"])
            while not any(
                httpx.get(f"{api.base}/api/v1/scans/{s}", headers=headers).json()["status"] == "processing"
                for s in submitted[-4:]
            ):
                time.sleep(0.02)
            api.kill()
            killed = time.monotonic()
            restarts.append(api.start())
        deadline = time.monotonic() + 300
        while True:
            states = [httpx.get(f"{api.base}/api/v1/scans/{s}", headers=headers).json() for s in submitted]
            if all(s["status"] in ("completed", "failed") for s in states) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        finished_after = time.monotonic() - killed
    outcome = Counter(s["status"] for s in states)
    reasons = Counter(s["failure"]["code"] for s in states if s["status"] == "failed")
    print(f"### API SIGKILLed {args.cycles} times while scans are analysed (lease {lease} s, sweep 2 s)\n")
    print(
        f"submitted {len(submitted)}; {dict(outcome)}; failure reasons {dict(reasons) or 'none'}; "
        f"restart to ready {', '.join(f'{r:.1f} s' for r in restarts)}; all finished "
        f"{finished_after:.1f} s after the last kill"
    )


def gemini_slow(args: argparse.Namespace) -> None:
    from tests.providers.gemini.fake_gemini import FakeGemini, Reply, error_reply, response_json

    with (
        FakeGemini() as fake,
        environment(
            CHAT_PROVIDER="gemini",
            GEMINI_API_KEY="bench-key",
            GEMINI_BASE_URL=fake.base_url,
            GEMINI_TIMEOUT_SECONDS=str(args.timeout),
            GEMINI_MAX_RETRIES="2",
            GEMINI_DEADLINE_SECONDS=str(args.deadline),
        ) as (api, _, _),
    ):
        users = sign_up(api.base, 16)

        def me_latencies(count: int) -> list[float]:
            times = []
            with httpx.Client(base_url=api.base, timeout=60) as http:
                for index in range(count):
                    user = users[index % len(users)]
                    sent = time.monotonic()
                    assert http.get(
                        "/api/v1/auth/me", headers={"Authorization": user["Authorization"]}
                    ).is_success
                    times.append((time.monotonic() - sent) * 1000)
            return times

        idle = me_latencies(200)
        results: dict[str, list[tuple[int, float]]] = {}
        for label, reply in (
            (
                f"answers after {args.delay:.0f} s",
                Reply(body=response_json("Slow."), delay_seconds=args.delay),
            ),
            ("500 every time", error_reply(500, "INTERNAL")),
        ):
            fake.enqueue(*([reply] * 16 * 3))
            chats: list[tuple[int, float]] = []

            def chat(user: dict[str, str], into: list[tuple[int, float]] = chats) -> None:
                sent = time.monotonic()
                response = httpx.post(
                    f"{api.base}/api/v1/chat/messages",
                    headers={"Authorization": user["Authorization"]},
                    json={"content": "What does niacinamide do?"},
                    timeout=300,
                )
                into.append((response.status_code, time.monotonic() - sent))

            threads = [threading.Thread(target=chat, args=(u,)) for u in users]
            for thread in threads:
                thread.start()
            time.sleep(0.5)
            busy = me_latencies(200)
            for thread in threads:
                thread.join()
            results[label] = chats
            print(
                f"- Gemini {label}: `/auth/me` p50/p99 idle {percentile(idle, 50):.0f}/{percentile(idle, 99):.0f} ms, "
                f"with 16 chats waiting {percentile(busy, 50):.0f}/{percentile(busy, 99):.0f} ms; chats "
                f"{dict(Counter(s for s, _ in chats))}, slowest {max(t for _, t in chats):.1f} s"
            )
            fake.clear()  # replies the deadline left unused must not answer the next phase


SCENARIOS: dict[str, Callable[[argparse.Namespace], None]] = {
    "soak": soak,
    "dynamodb-kill": dynamodb_kill,
    "app-kill": app_kill,
    "gemini-slow": gemini_slow,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=600.0, help="soak duration")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument("--cycles", type=int, default=3, help="kills (dynamodb-kill, app-kill)")
    parser.add_argument("--delay", type=float, default=60.0, help="gemini-slow: seconds before it answers")
    parser.add_argument("--timeout", type=float, default=15.0, help="gemini-slow: GEMINI_TIMEOUT_SECONDS")
    parser.add_argument("--deadline", type=float, default=20.0, help="gemini-slow: GEMINI_DEADLINE_SECONDS")
    args = parser.parse_args()
    print(
        f"<!-- {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()} -->"
    )
    SCENARIOS[args.scenario](args)


if __name__ == "__main__":
    main()
