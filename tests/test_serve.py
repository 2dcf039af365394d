"""`python -m app.serve` for real: worker processes, their sockets, signals and the port guard.

Most tests serve `tests/serve_app.py`, which answers with the id of the process that took
the request and marks its lifespan's start and shutdown; one serves the real API, where the
worker that holds each connection is read from /proc instead.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.db.local_dynamodb import free_port
from app.serve import PortUnavailableError, claim_port, parse_args
from tests.conftest import make_settings
from tests.envfiles import ROOT
from tests.processes import process_env

TEST_APP = "tests.serve_app:create_app"
CONNECTIONS = 16


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    marks: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The worker processes now (the supervisor's children, not multiprocessing's tracker)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        found = []
        for child in children:
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:
                continue
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port (one per worker with SO_REUSEPORT)."""
    wanted = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == wanted and row.split()[3] == "0A")


def wait_for(
    condition: object, *, timeout: float = 30, what: str, launched: "Launched | None" = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if launched is not None:
            assert launched.process.poll() is None, launched.output()
        assert time.monotonic() < deadline, (
            f"timed out waiting for {what}\n{launched.output() if launched else ''}"
        )
        time.sleep(0.05)


@contextmanager
def launch(
    tmp_path: Path,
    *args: str,
    workers: int = 2,
    port: int | None = None,
    wait: bool = True,
    app: str | None = TEST_APP,
    dynamodb_endpoint: str = "http://127.0.0.1:1",
    start_timeout: float = 30,
    **env: str,
) -> Iterator[Launched]:
    """`python -m app.serve` serving the test app (or, with app=None, the API), until the block ends."""
    port = port or free_port()
    marks = tmp_path / f"marks-{port}-{time.monotonic_ns()}"
    marks.mkdir()
    log = marks / "launcher.log"
    environment = {
        **process_env(dynamodb_endpoint, tmp_path / "data"),
        "SERVE_TEST_MARKS": str(marks),
        **env,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.serve",
                *(("--app", app) if app else ()),
                "--port",
                str(port),
                "--workers",
                str(workers),
                *args,
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    launched = Launched(process=process, port=port, log=log, marks=marks)
    try:
        if wait:
            wait_for(
                lambda: listening_sockets(port) == workers,
                what=f"{workers} listeners",
                launched=launched,
                timeout=start_timeout,
            )
        yield launched
    finally:
        _kill(launched)


def _kill(launched: Launched) -> None:
    """After a failed test: the workers, then the supervisor."""
    for pid in launched.workers():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if launched.process.poll() is None:
        launched.process.kill()
        launched.process.wait(timeout=10)


def get(port: int, path: str = "/", timeout: float = 10) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def pids_of_connections_opened_at_once(port: int, path: str = "/") -> list[int]:
    """Open CONNECTIONS keep-alive connections first, then ask on each which process answers."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
    for connection in connections:
        connection.connect()
    try:
        pids = []
        for connection in connections:
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200
            pids.append(int(response.read()))
        # Keep-alive: the same connection stays with the same process.
        connections[0].request("GET", path)
        assert int(connections[0].getresponse().read()) == pids[0]
        return pids
    finally:
        for connection in connections:
            connection.close()


def port_is_free(port: int) -> bool:
    try:
        holder = claim_port(host="127.0.0.1", port=port)
    except PortUnavailableError:
        return False
    if holder is not None:
        holder.close()
    return True


# ---- the workers share the connections ----


def test_connections_opened_at_once_are_spread_over_both_workers(tmp_path: Path) -> None:
    with launch(tmp_path) as launched:
        workers = set(launched.workers())
        assert len(workers) == 2
        split = Counter(pids_of_connections_opened_at_once(launched.port))
        # Each worker's own socket: the kernel hashes every new connection to one of them.
        # (With one shared socket all 16 often went to one process: docs/BENCHMARKS.md.)
        assert set(split) == workers, split
        assert launched.process.pid not in split
        assert launched.stop() == 0


def test_one_worker_is_served_in_the_launcher_itself(tmp_path: Path) -> None:
    with launch(tmp_path, workers=1) as launched:
        assert set(pids_of_connections_opened_at_once(launched.port)) == {launched.process.pid}
        assert launched.stop() == 0
        assert port_is_free(launched.port)


# ---- a dead worker ----


def test_a_killed_worker_is_replaced_and_new_connections_keep_being_answered(tmp_path: Path) -> None:
    with launch(tmp_path) as launched:
        victim, survivor = launched.workers()
        os.kill(victim, signal.SIGKILL)
        # Its socket closes with it (a connection that raced the kill into its queue is reset);
        # from then on every new connection goes to the survivor until the replacement listens.
        wait_for(lambda: listening_sockets(launched.port) < 2, what="the killed worker's socket to close")
        answered: list[int] = []
        deadline = time.monotonic() + 30
        while True:
            status, body = get(launched.port)
            assert status == 200
            answered.append(int(body))
            workers = launched.workers()
            if len(workers) == 2 and victim not in workers and listening_sockets(launched.port) == 2:
                break
            assert time.monotonic() < deadline, launched.output()
        assert victim not in answered[1:]
        replacement = (set(launched.workers()) - {survivor}).pop()
        assert replacement in set(pids_of_connections_opened_at_once(launched.port))
        assert launched.stop() == 0


def test_sighup_replaces_the_workers_one_by_one_while_the_port_keeps_answering(tmp_path: Path) -> None:
    with launch(tmp_path) as launched:
        before = set(launched.workers())
        launched.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        answered = resets = 0
        # Each replacement listens before its predecessor stops: no moment without a listener.
        while not (set(launched.workers()).isdisjoint(before) and listening_sockets(launched.port) == 2):
            assert listening_sockets(launched.port) >= 1
            try:
                assert get(launched.port)[0] == 200
                answered += 1
            except ConnectionResetError:
                # Only a connection caught in a stopping worker's accept queue as it closes.
                resets += 1
            assert time.monotonic() < deadline, launched.output()
        assert resets <= 1 < answered
        after = set(pids_of_connections_opened_at_once(launched.port))
        assert after == set(launched.workers())
        assert after.isdisjoint(before)
        assert launched.stop() == 0


# ---- stopping ----


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_finishes_open_requests_runs_each_shutdown_and_frees_the_port(
    tmp_path: Path, sig: int
) -> None:
    with launch(tmp_path, "--timeout-graceful-shutdown", "10") as launched:
        workers = launched.workers()
        answer: dict[str, object] = {}

        def slow() -> None:
            answer["reply"] = get(launched.port, "/slow?seconds=1.5")

        request = threading.Thread(target=slow)
        request.start()
        wait_for(lambda: any(launched.marks.glob("slow-began-*")), what="the slow request", launched=launched)
        began = time.monotonic()
        # As systemd (KillMode=control-group) and a terminal's Ctrl-C do: every process gets it.
        for pid in [launched.process.pid, *workers]:
            os.kill(pid, sig)
        assert launched.process.wait(timeout=30) == 0, launched.output()
        request.join(timeout=10)
        status, _ = answer["reply"]  # type: ignore[misc]
        assert status == 200
        assert time.monotonic() - began >= 1.0  # it waited for the request, not cut it short
        stopped = {int(path.name.rsplit("-", 1)[1]) for path in launched.marks.glob("stopped-*")}
        assert stopped == set(workers)  # every worker's lifespan shutdown ran
        assert "Traceback" not in launched.output()
        assert port_is_free(launched.port)


def test_workers_stop_gracefully_when_the_supervisor_is_killed_outright(tmp_path: Path) -> None:
    """Each worker holds its own socket: an orphan would go on serving the port alone."""
    with launch(tmp_path) as launched:
        workers = launched.workers()
        launched.process.kill()
        launched.process.wait(timeout=10)
        wait_for(lambda: listening_sockets(launched.port) == 0, what="the orphaned workers to stop")
        wait_for(
            lambda: {int(p.name.rsplit("-", 1)[1]) for p in launched.marks.glob("stopped-*")} == set(workers),
            what="their lifespan shutdown",
        )
        assert port_is_free(launched.port)


def test_a_worker_that_cannot_start_stops_the_launcher_instead_of_looping(tmp_path: Path) -> None:
    with launch(tmp_path, wait=False, SERVE_TEST_FAIL_STARTUP="1") as launched:
        assert launched.process.wait(timeout=30) == 3, launched.output()
        assert "failed to start" in launched.output()
        assert port_is_free(launched.port)


# ---- the port guard ----


def test_a_second_instance_on_a_served_port_is_refused_and_does_not_join(tmp_path: Path) -> None:
    with launch(tmp_path) as first:
        with launch(tmp_path, port=first.port, wait=False) as second:
            assert second.process.wait(timeout=30) == 1
            assert f"127.0.0.1:{first.port} is already in use" in second.output()
        assert listening_sockets(first.port) == 2
        assert set(pids_of_connections_opened_at_once(first.port)) == set(first.workers())
        assert first.stop() == 0


def test_the_port_is_guarded_while_the_workers_are_still_starting(tmp_path: Path) -> None:
    port = free_port()
    with launch(tmp_path, port=port, wait=False, SERVE_TEST_STARTUP_SECONDS="3") as first:
        # The launcher holds the port from its first moments, before any worker listens
        # (the workers' own sockets are bound by then but, not listening, would not stop it).
        wait_for(lambda: not port_is_free(port), what="the launcher's claim", launched=first)
        with launch(tmp_path, port=port, wait=False) as second:
            assert second.process.wait(timeout=30) == 1, second.output()
        assert listening_sockets(port) == 0  # the refusal came while the workers were starting
        wait_for(lambda: listening_sockets(port) == 2, what="the first instance's workers", launched=first)
        assert set(pids_of_connections_opened_at_once(port)) == set(first.workers())
        assert first.stop() == 0


def test_a_restart_right_after_serving_is_not_refused_by_connections_in_time_wait(tmp_path: Path) -> None:
    """`systemctl restart`: the old workers closed connections themselves (TIME_WAIT, 60 s)."""
    with launch(tmp_path) as first:
        for _ in range(8):
            connection = http.client.HTTPConnection("127.0.0.1", first.port, timeout=10)
            connection.request("GET", "/", headers={"Connection": "close"})
            assert connection.getresponse().status == 200
            connection.close()
        assert first.stop() == 0
    with launch(tmp_path, port=first.port) as second:
        assert "without a port holder" not in second.output()
        assert len(set(pids_of_connections_opened_at_once(second.port))) == 2
        assert second.stop() == 0


def test_a_port_another_program_listens_on_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        port = other.getsockname()[1]
        with launch(tmp_path, port=port, wait=False) as launched:
            assert launched.process.wait(timeout=30) == 1
            assert "already in use (another DermaLens instance, or another program)" in launched.output()
            assert "Traceback" not in launched.output()
    finally:
        other.close()


# ---- the command line ----


def test_the_command_line_defaults_come_from_the_settings_and_bad_values_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings("http://127.0.0.1:1", Path("/tmp/unused"), port=8123, web_concurrency=3)
    options = parse_args([], settings=settings)
    assert (options.host, options.port, options.workers) == ("127.0.0.1", 8123, 3)
    assert options.app == "app.main:create_app"
    assert options.factory
    assert options.proxy_headers is False  # the app resolves client addresses (TRUSTED_PROXIES)
    for bad in (["--workers", "0"], ["--port", "70000"], ["--timeout-keep-alive", "soon"]):
        with pytest.raises(SystemExit) as exited:
            parse_args(bad, settings=settings)
        assert exited.value.code == 2
    assert "the worker count must be between 1 and 32, not 0" in capsys.readouterr().err


# ---- the real API ----


def _connections_per_worker(port: int, workers: list[int]) -> Counter[int]:
    """Established connections to 127.0.0.1:port, by the worker whose descriptor holds them."""
    local = f"0100007F:{port:04X}"
    inodes = {
        row.split()[9]
        for row in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if row.split()[1] == local and row.split()[3] == "01"
    }
    held: Counter[int] = Counter()
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held[pid] += 1
    return held


def test_the_api_in_two_workers_shares_connections_and_stops_cleanly(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    with launch(
        tmp_path, "--no-access-log", app=None, dynamodb_endpoint=dynamodb_endpoint, start_timeout=90
    ) as launched:
        port = launched.port
        workers = launched.workers()
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
        for connection in connections:
            connection.connect()
        for connection in connections:
            connection.request("GET", "/health/ready")
            response = connection.getresponse()
            assert response.status == 200, response.read()
            response.read()
        held = _connections_per_worker(port, workers)
        assert sum(held.values()) == CONNECTIONS
        assert set(held) == set(workers), held
        for connection in connections:
            connection.close()
        assert launched.stop() == 0, launched.output()
        # Each worker ran the app's shutdown (analysis workers stopped) and said so.
        assert launched.output().count("DermaLens API stopped") == 2, launched.output()
        assert "Traceback" not in launched.output()
        assert port_is_free(port)
