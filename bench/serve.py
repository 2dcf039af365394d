"""Serve an ASGI app for a benchmark: `python bench/serve.py MODULE:APP PORT [WORKERS]`.

Through the launcher that ships (`app.serve`: one SO_REUSEPORT socket per worker), so the
numbers are those of `make run` and the systemd unit. BENCH_LAUNCHER=uvicorn serves with
`uvicorn.run(workers=N)` instead (one listening socket shared by the workers: the launch
before session 6), to compare the two.

With BENCH_PROFILE=path, a sampling profiler (every thread's stack every 2 ms, the idea of
py-spy without its ptrace) runs in the server and writes the most frequent frames to `path`
on exit: self time (the innermost frame) and inclusive time (anywhere on the stack).
"""

import collections
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.serve import ServeOptions, serve  # noqa: E402

IDLE = ("selectors.py", "threading.py:wait", "queue.py:get", "base_events.py:_run_once", "thread.py:_worker")


class Sampler:
    def __init__(self, out: Path, interval: float = 0.002) -> None:
        self.out = out
        self.interval = interval
        self.own: collections.Counter[str] = collections.Counter()
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                stack = _stack(frame)
                if not stack or any(stack[0].startswith(idle) or idle in stack[0] for idle in IDLE):
                    continue  # a thread waiting for work is not where time goes
                self.samples += 1
                self.own[stack[0]] += 1
                for name in set(stack):
                    self.inclusive[name] += 1

    def write(self) -> None:
        self._stop.set()
        lines = [f"samples (busy thread stacks): {self.samples}", "", "self (innermost frame):"]
        lines += [f"{100 * n / max(1, self.samples):5.1f}%  {name}" for name, n in self.own.most_common(30)]
        lines += ["", "inclusive (anywhere on the stack):"]
        lines += [
            f"{100 * n / max(1, self.samples):5.1f}%  {name}" for name, n in self.inclusive.most_common(60)
        ]
        self.out.write_text("\n".join(lines) + "\n")


def _stack(frame: FrameType | None) -> list[str]:
    names = []
    while frame is not None:
        code = frame.f_code
        names.append(f"{Path(code.co_filename).name}:{code.co_name}")
        frame = frame.f_back
    return names


def main() -> None:
    target, port = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    profile = os.environ.get("BENCH_PROFILE")
    sampler = Sampler(Path(profile)) if profile else None
    if sampler:
        sampler.start()
    loop = os.environ.get("BENCH_LOOP", "auto")
    http = os.environ.get("BENCH_HTTP", "auto")

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        if os.environ.get("BENCH_LAUNCHER", "app.serve") == "uvicorn":
            uvicorn.run(
                target,
                host="127.0.0.1",
                port=port,
                workers=workers if workers > 1 else None,
                log_level="warning",
                access_log=False,
                loop=loop,  # type: ignore[arg-type]
                http=http,  # type: ignore[arg-type]
            )
        else:
            # `app.main:app` is the app `create_app()` builds (the unit's factory), made once.
            options = ServeOptions(
                app=target,
                factory=False,
                port=port,
                workers=workers,
                access_log=False,
                log_level="warning",
                loop=loop,
                http=http,
            )
            sys.exit(serve(options))
    finally:
        if sampler:
            sampler.write()
        time.sleep(0)


if __name__ == "__main__":
    main()
