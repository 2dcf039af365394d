"""What the benchmarks share: DynamoDB Local, a served app in its own process, a tiny HTTP
load generator, seeded users, and the machine line every result carries."""

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.db.local_dynamodb import DynamoDBLocal, free_port  # noqa: E402

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery"


def machine() -> str:
    """Date, CPU, cores, load and Python: the line every table in docs/BENCHMARKS.md carries."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{now}; {os.cpu_count()} x {cpu}; load average {load}; Python {platform.python_version()}"


@contextlib.contextmanager
def dynamodb_local() -> Iterator[str]:
    """An in-memory DynamoDB Local for one benchmark run (or BENCH_DYNAMODB_ENDPOINT)."""
    external = os.environ.get("BENCH_DYNAMODB_ENDPOINT")
    if external:
        yield external
        return
    with DynamoDBLocal(port=free_port()) as local:
        yield local.endpoint


def app_env(endpoint: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a served DermaLens: this DynamoDB Local, the local providers."""
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "AWS_DYNAMODB_ENDPOINT": endpoint,
        "DERMALENS_DATA_DIR": str(data_dir),
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "INFO",
        # Every benchmark client comes from 127.0.0.1: the per-address limits would be
        # what is measured otherwise (the per-account ones stay on).
        "LOGIN_IP_LOCKOUT_THRESHOLD": "1000000",
        "REGISTER_PER_IP_PER_HOUR": "1000000",
        "PHOTO_CHECKS_PER_DAY": "100000",
        "SCANS_PER_DAY": "100000",
    }
    env.update(extra)
    return env


class Server:
    """`bench/serve.py` serving an ASGI app in a child process on a free port."""

    def __init__(self, target: str, env: dict[str, str], *, log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._args = [sys.executable, str(ROOT / "bench" / "serve.py"), target, str(self.port), str(workers)]
        self._env = env
        self._log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        log = self._log.open("ab")
        self.process = subprocess.Popen(self._args, env=self._env, stdout=log, stderr=log, cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self._log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer; see {self._log}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and its children so far (from /proc)."""
        return sum(self.process_cpu().values())

    def process_cpu(self) -> dict[int, float]:
        """CPU seconds so far of the server process and of each of its children (the workers)."""
        assert self.process is not None
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            pids.extend(int(c) for c in children)
        cpu: dict[int, float] = {}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
        return cpu

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---- load generation: one keep-alive HTTP/1.1 connection per concurrent client ----


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(self.body)}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def json_request(method: str, path: str, payload: Any, headers: dict[str, str] | None = None) -> Request:
    return Request(
        method, path, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()
    )


@dataclass
class Result:
    """Latencies (s) and status codes of one measured run."""

    latencies: list[float]
    statuses: dict[int, int]
    seconds: float
    cpu_seconds: float = 0.0
    # The busiest process's part of the server's CPU in this run: ≈ 0.5 when two workers
    # share the load, 1.0 when one of them took every connection.
    busiest_share: float | None = None

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / len(self.latencies) if self.latencies else float("nan")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _load(
    url: str, make: Callable[[int], Request], *, concurrency: int, seconds: float, warmup: float
) -> Result:
    host_port = url.split("//", 1)[1]
    host, port = host_port.split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(10**9))
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while True:
                now = time.perf_counter()
                if now >= stop:
                    return
                payload = make(next(counter)).encode(host_port)
                began = time.perf_counter()
                writer.write(payload)
                status = await _read_response(reader)
                ended = time.perf_counter()
                if began >= measure_from and ended <= stop:
                    latencies.append(ended - began)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Result(latencies=latencies, statuses=statuses, seconds=seconds)


def run_load(
    url: str,
    make: Callable[[int], Request],
    *,
    concurrency: int,
    seconds: float,
    warmup: float = 0.5,
    server: Server | None = None,
) -> Result:
    """Closed-loop load: `concurrency` clients send `make(i)` back to back for `seconds`."""
    cpu_before = server.process_cpu() if server else {}
    result = asyncio.run(_load(url, make, concurrency=concurrency, seconds=seconds, warmup=warmup))
    if server:
        used = {pid: cpu - cpu_before.get(pid, 0.0) for pid, cpu in server.process_cpu().items()}
        total = sum(used.values())
        # Includes the warm-up's share: scaled to the measured window.
        result.cpu_seconds = total * seconds / (seconds + warmup)
        result.busiest_share = max(used.values()) / total if total > 0 else None
    return result


def run_threads(work: Callable[[], None], *, concurrency: int, seconds: float, warmup: float = 0.5) -> Result:
    """The same closed loop for a blocking call (the raw boto3 reference), one thread per client."""
    import threading

    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    def loop() -> None:
        mine = []
        while time.perf_counter() < stop:
            began = time.perf_counter()
            work()
            ended = time.perf_counter()
            if began >= measure_from and ended <= stop:
                mine.append(ended - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(latencies=latencies, statuses={200: len(latencies)}, seconds=seconds)


# ---- seeded users ----


@dataclass
class SeededUser:
    email: str
    headers: dict[str, str]
    user_id: str


def get_as_each(users: list[SeededUser], path: str = "/api/v1/auth/me") -> Callable[[int], Request]:
    """Request i of a load: GET path, signed in as the seeded users in turn."""
    return lambda i: Request("GET", path, users[i % len(users)].headers)


def register(base: str, http: httpx.Client, *, email: str | None = None) -> SeededUser:
    email = email or f"bench-{random.getrandbits(48):012x}@example.com"
    response = http.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    body = response.json()
    return SeededUser(
        email=email,
        headers={"Authorization": f"Bearer {body['tokens']['access_token']}"},
        user_id=body["user"]["user_id"],
    )


def seed_scan_and_plan(base: str, http: httpx.Client, user: SeededUser, photo: bytes) -> dict[str, Any]:
    """One real analysed scan (one-call upload) and a plan built from it."""
    response = http.post(
        f"{base}/api/v1/scans/upload",
        headers=user.headers,
        files={"front": ("face.jpg", photo, "image/jpeg")},
    )
    response.raise_for_status()
    scan_id = response.json()["scan_id"]
    deadline = time.monotonic() + 120
    scan: dict[str, Any] = {}
    while time.monotonic() < deadline:
        scan = http.get(f"{base}/api/v1/scans/{scan_id}", headers=user.headers).json()
        if scan["status"] in {"completed", "failed"}:
            break
        time.sleep(0.1)
    if scan.get("status") != "completed":
        raise RuntimeError(f"the seed scan did not complete: {scan}")
    plan = http.post(f"{base}/api/v1/plans", headers=user.headers, json={})
    plan.raise_for_status()
    return scan


def copy_scans(dynamodb: Any, *, table: str, user_id: str, scan_id: str, copies: int) -> None:
    """More history for a seeded user: copies of its analysed scan on earlier days (new ids)."""
    from app.core.security import iso, new_id, parse_iso

    item = dynamodb.get_item(TableName=table, Key={"user_id": {"S": user_id}, "scan_id": {"S": scan_id}})[
        "Item"
    ]
    taken = parse_iso(item["scan_date"]["S"])
    for week in range(1, copies + 1):
        copy = dict(item)
        copy["scan_id"] = {"S": new_id()}
        copy["scan_date"] = {"S": iso(taken - dt.timedelta(days=7 * week))}
        dynamodb.put_item(TableName=table, Item=copy)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"
