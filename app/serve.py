"""`python -m app.serve`: the API in N uvicorn worker processes, each on its own listening socket.

uvicorn's `--workers` hands one listening socket to all its processes, and whichever wakes
first accepts every pending connection: a burst of new keep-alive connections can all land
on one process while the other idles (docs/BENCHMARKS.md, "Worker sockets, session 6").
Here every worker binds a socket of its own to the same host:port with SO_REUSEPORT, and the
kernel spreads new connections over them.

uvicorn's own supervisor (`uvicorn.supervisors.Multiprocess`) still runs the workers: it
replaces a worker that dies, stops them all on SIGINT/SIGTERM (each finishes its open
requests within --timeout-graceful-shutdown, then runs the app's lifespan shutdown), stops
the launcher when a worker cannot start, and replaces them one by one on SIGHUP. It hands
the same list of sockets to every worker it spawns; that list holds a `WorkerSocket`, which
becomes a freshly bound socket when the spawned worker unpickles it. So each worker's socket
lives and dies with that worker: a dead worker's socket closes with it, and the kernel sends
new connections to the others until its replacement listens (a connection caught in the
dead socket's accept queue at that instant is reset, unless net.ipv4.tcp_migrate_req=1
hands it to another socket). A worker whose supervisor is killed outright gets SIGTERM
(PR_SET_PDEATHSIG) rather than serving on alone. Reusing the supervisor keeps uvicorn's
health checks, restarts and signal handling as they were with `--workers`; the price is
that hand-over through pickling, which depends on uvicorn spawning (not forking) workers
and passing them the sockets list, as 0.54 does (tests/test_serve.py would fail otherwise).

Linux lets sockets of the same user share a port this way, so a second instance of ours on
the same port would silently join and take half the traffic. The port is therefore first
bound without SO_REUSEPORT, which fails if anything holds it, and then held by a socket
that is bound but never listens (it gets no connections) until the workers have stopped.

With one worker the server runs in this process, on a socket bound the same way.

Elsewhere than on Linux, SO_REUSEPORT does not spread connections (macOS hands them all to
one socket), so there the workers share one socket as with uvicorn's `--workers`; the port
check is the same.
"""

import argparse
import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

import uvicorn
from pydantic import ValidationError
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import SIGNALS

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging

logger = logging.getLogger("dermalens.serve")

DEFAULT_APP = "app.main:create_app"
# Where the kernel balances connections over sockets sharing a port through SO_REUSEPORT.
SPREADS_CONNECTIONS = sys.platform == "linux"
# Exit codes: 0 after a clean stop; a worker that could not start exits with uvicorn's code.
PORT_UNAVAILABLE = 1
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True)
class ServeOptions:
    """How to serve: uvicorn's options of the same names, plus the worker count."""

    app: str = DEFAULT_APP
    factory: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Off unless asked: the app resolves the client address itself (TRUSTED_PROXIES).
    proxy_headers: bool = False
    forwarded_allow_ips: str | None = None
    timeout_keep_alive: int = 5
    timeout_graceful_shutdown: int | None = None
    server_header: bool = True
    access_log: bool = True
    log_level: str | None = None
    loop: str = "auto"
    http: str = "auto"
    backlog: int = 2048


class PortUnavailableError(Exception):
    """The address cannot be served: another process listens on it, or it is not ours to bind."""


def serve(options: ServeOptions) -> int:
    """Serve until SIGINT/SIGTERM; the exit code (0 after a clean stop)."""
    try:
        holder = claim_port(host=options.host, port=options.port)
    except PortUnavailableError as exc:
        logger.error("cannot serve: %s", exc)
        return PORT_UNAVAILABLE
    config = _config(options)
    try:
        with _signal_handlers_restored():
            if options.workers == 1:
                return _serve_in_process(config, options)
            return _serve_workers(config, options)
    finally:
        if holder is not None:
            holder.close()


def claim_port(*, host: str, port: int) -> socket.socket | None:
    """Fail unless host:port is free; then a bound, never-listening socket that keeps it ours.

    The holder is None when the port is free but the holder cannot be bound: a connection of
    a server without SO_REUSEPORT (the old launcher) still in TIME_WAIT blocks it for up to a
    minute. Serving goes ahead then, without the guard for the seconds the workers take to start.
    """
    family = _family(host)
    probe = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR so that a previous run's connections in TIME_WAIT do not count as "in use";
    # a listening socket still does (on Linux, whatever options it was bound with).
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailableError(
                f"{host}:{port} is already in use (another DermaLens instance, or another program); "
                "stop it or choose another PORT"
            ) from exc
        raise PortUnavailableError(f"cannot bind {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()
    if not SPREADS_CONNECTIONS:
        return None  # the workers share one socket, bound at once (see _serve_workers)
    # Without SO_REUSEADDR: a bound socket that has it does not stop another one with it from
    # binding (the probe above), only a listening one does; this one never listens.
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        holder.bind((host, port))
    except OSError as exc:
        holder.close()
        logger.info("serving %s:%s without a port holder (%s)", host, port, exc.strerror)
        return None
    return holder


def bind_worker_socket(*, host: str, port: int) -> socket.socket:
    """A worker's own socket on host:port, shared with the others' through SO_REUSEPORT.

    Bound, not listening: uvicorn listens on it once the app has started, so a worker still
    starting gets no connections.
    """
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class WorkerSocket:
    """Stands in for the listening socket in the list given to uvicorn's supervisor.

    The supervisor pickles that list into every worker it spawns (the way multiprocessing
    hands over a real socket); unpickling this one binds the worker's own socket there.
    """

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.supervisor_pid = os.getpid()

    def __reduce__(self) -> tuple[Any, tuple[str, int, int]]:
        return (_socket_in_worker, (self.host, self.port, self.supervisor_pid))


def _socket_in_worker(host: str, port: int, supervisor_pid: int) -> socket.socket:
    """Runs in a spawned worker, before its logging is set up: a failure is a plain line."""
    # A worker keeps its own socket open, so if the supervisor is killed outright (SIGKILL,
    # an OOM kill) an orphaned worker would go on serving the port; SIGTERM it instead,
    # which stops it gracefully.
    _stop_when_parent_dies()
    if os.getppid() != supervisor_pid:
        sys.exit(0)  # the supervisor died before that took effect
    try:
        return bind_worker_socket(host=host, port=port)
    except OSError as exc:
        # The exit code the supervisor reads as "cannot start": it stops instead of retrying.
        sys.stderr.write(f"worker cannot bind {host}:{port}: {exc.strerror}\n")
        sys.exit(STARTUP_FAILURE)


def _stop_when_parent_dies() -> None:
    """Linux prctl(PR_SET_PDEATHSIG, SIGTERM): this process gets SIGTERM when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _serve_in_process(config: uvicorn.Config, options: ServeOptions) -> int:
    try:
        sock = bind_worker_socket(host=options.host, port=options.port)
    except OSError as exc:
        # Taken in the instant since claim_port looked: another program's plain socket.
        logger.error("cannot serve: cannot bind %s:%s: %s", options.host, options.port, exc.strerror)
        return PORT_UNAVAILABLE
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; with these
    # handlers that is a no-op, so a caller's `finally` runs and the exit code is ours.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopped)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0 if server.started else STARTUP_FAILURE


def _serve_workers(config: uvicorn.Config, options: ServeOptions) -> int:
    if SPREADS_CONNECTIONS:
        # Not a socket: see WorkerSocket. The supervisor only passes the list on to each worker.
        sockets = cast(list[socket.socket], [WorkerSocket(host=options.host, port=options.port)])
    else:
        sockets = [config.bind_socket()]
    supervisor = Multiprocess(config, sockets=sockets)
    supervisor.run()
    # It stops by itself only when a worker exited with uvicorn's "cannot start" code.
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        return STARTUP_FAILURE
    return 0


def _config(options: ServeOptions) -> uvicorn.Config:
    return uvicorn.Config(
        options.app,
        factory=options.factory,
        host=options.host,
        port=options.port,
        workers=options.workers,
        proxy_headers=options.proxy_headers,
        forwarded_allow_ips=options.forwarded_allow_ips,
        timeout_keep_alive=options.timeout_keep_alive,
        timeout_graceful_shutdown=options.timeout_graceful_shutdown,
        server_header=options.server_header,
        access_log=options.access_log,
        log_level=options.log_level,
        loop=options.loop,
        http=options.http,
        backlog=options.backlog,
        # The app (create_app) sets up logging in each worker; uvicorn's lines go through it.
        log_config=None,
    )


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """uvicorn's re-raised stop signal, after it has shut down: nothing left to do."""


@contextlib.contextmanager
def _signal_handlers_restored() -> Iterator[None]:
    """The supervisor and the in-process server replace signal handlers; give the caller its own back."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def parse_args(argv: Sequence[str] | None, *, settings: Settings) -> ServeOptions:
    """The command line (uvicorn's flag names); host, port and workers default to the settings."""
    parser = argparse.ArgumentParser(prog="python -m app.serve", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--app", default=DEFAULT_APP, help="MODULE:ATTR of the ASGI app (default: %(default)s)"
    )
    parser.add_argument(
        "--factory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="call --app to build the app (default: yes)",
    )
    parser.add_argument("--host", default=settings.host, help="HOST (default: %(default)s)")
    parser.add_argument("--port", type=_port, default=settings.port, help="PORT (default: %(default)s)")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=settings.web_concurrency,
        help="WEB_CONCURRENCY (default: %(default)s)",
    )
    parser.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="believe X-Forwarded-For/-Proto from --forwarded-allow-ips (default: no)",
    )
    parser.add_argument("--forwarded-allow-ips", default=None)
    parser.add_argument("--timeout-keep-alive", type=_seconds, default=5)
    parser.add_argument("--timeout-graceful-shutdown", type=_seconds, default=None)
    parser.add_argument("--no-server-header", dest="server_header", action="store_false")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = parser.parse_args(argv)
    return ServeOptions(
        app=args.app,
        factory=args.factory,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_keep_alive=args.timeout_keep_alive,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        server_header=args.server_header,
        access_log=args.access_log,
    )


def _bounded(name: str, low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low} and {high}, not {value}")
        return value

    return parse


_port = _bounded("the port", 1, 65535)
_workers = _bounded("the worker count", 1, 32)
_seconds = _bounded("a timeout", 0, 3600)


def main(argv: Sequence[str] | None = None) -> int:
    """The command: settings checked first, then serve."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        # One readable paragraph per problem instead of a traceback.
        print(f"cannot start: the configuration (environment and .env) is invalid\n{exc}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings.log_level, json_lines=settings.json_logs)
    options = parse_args(argv, settings=settings)
    logger.info(
        "serving %s on http://%s:%s with %s worker process(es), one socket each",
        options.app,
        options.host,
        options.port,
        options.workers,
    )
    return serve(options)


if __name__ == "__main__":
    sys.exit(main())
