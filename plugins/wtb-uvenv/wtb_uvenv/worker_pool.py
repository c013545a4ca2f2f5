"""Worker processes: up to ``size`` per environment, started on first use and reused by
every call that needs the environment; one call at a time each."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from wtb_uvenv.build import WORKER_MODULE, BuiltEnv
from wtb_uvenv.usage import Lease
from wtb_uvenv.worker_script import read_frame, write_frame

_HIDDEN = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "CONDA_PREFIX")


class WorkerGone(Exception):
    """The worker exited; ``why`` says how, with the last lines it printed."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class WorkerProcess:
    """One ``python -I -m wtb_uvenv_worker`` of an environment, in its own session (a
    terminal's Ctrl-C does not reach it; it exits when this process does)."""

    def __init__(self, env: BuiltEnv, start_timeout: float) -> None:
        variables = {k: v for k, v in os.environ.items() if k not in _HIDDEN}
        variables["VIRTUAL_ENV"] = str(env.path)
        variables["PATH"] = os.pathsep.join([str(env.python.parent), variables.get("PATH", "")])
        self.env = env
        try:
            self.proc = self._start(env, variables)
        except OSError as exc:
            raise WorkerGone(f"the worker could not be started ({exc})") from None
        self.known: set[str] = set()  # targets this worker has resolved
        self.tail: collections.deque[str] = collections.deque(maxlen=30)
        self._stderr = threading.Thread(target=self._forward, daemon=True)
        self._stderr.start()
        timer = threading.Timer(start_timeout, self.proc.kill)
        timer.start()
        try:
            ready = read_frame(self._out)
        finally:
            timer.cancel()
        if ready is None or not ready.get("ready"):
            raise WorkerGone(self._gone(f"did not start within {start_timeout:g} s"))
        self.pid: int = ready["pid"]

    @staticmethod
    def _start(env: BuiltEnv, variables: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(env.python), "-I", "-m", WORKER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=env.path,
            env=variables,
            start_new_session=True,
        )

    @property
    def _out(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def _forward(self) -> None:
        """Keep the worker's last stderr lines and pass them on to this process's stderr."""
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.tail.append(line)
            try:
                sys.stderr.write(line)
            except (OSError, ValueError):  # this process's stderr is closed or replaced
                continue

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request, return its reply; ``WorkerGone`` when the worker exits."""
        assert self.proc.stdin is not None
        try:
            write_frame(self.proc.stdin, request)
        except (BrokenPipeError, OSError):
            raise WorkerGone(self._gone("exited before the call was sent")) from None
        reply = read_frame(self._out)
        if reply is None:
            raise WorkerGone(self._gone("exited while running it"))
        return reply

    def _gone(self, what: str) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._stderr.join(timeout=1)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        tail = "".join(self.tail).strip()
        last = f"; its last output:\n{tail}" if tail else ""
        return f"the worker process (pid {self.proc.pid}) {what} ({how}){last}"

    def kill(self) -> None:
        """Kill the worker now; the thread waiting for its reply sees ``WorkerGone``."""
        if self.proc.poll() is None:
            self.proc.kill()

    def stop(self, grace: float = 1.0) -> None:
        """End the worker (by the thread that owns it): close its stdin so it exits, and
        kill it if it has not after ``grace`` seconds."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=grace)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._stderr.join(timeout=1)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


class EnvPool:
    """The workers of one environment for one bench, and the bench's lease on it."""

    def __init__(self, env: BuiltEnv, lease: Lease, size: int, start_timeout: float) -> None:
        self.env, self._lease = env, lease
        self._size, self._start_timeout = size, start_timeout
        self._idle: list[WorkerProcess] = []
        self._live: set[WorkerProcess] = set()
        self._starting = 0
        self._closed = False
        self._cond = threading.Condition()

    def call(self, request: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
        """Run ``request`` on an idle worker (starting one when fewer than ``size`` run)."""
        worker = self._acquire()
        if request["tid"] not in worker.known:
            request = {**request, "target": target}
        try:
            reply = worker.call(request)
        except WorkerGone:
            self._drop(worker)
            if self._closed:
                raise WorkerGone("its bench was closed while the node ran") from None
            raise
        worker.known.add(request["tid"])
        with self._cond:
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return reply
        self._drop(worker)
        return reply

    def _acquire(self) -> WorkerProcess:
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerGone("its bench is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._live) + self._starting < self._size:
                    self._starting += 1
                    break
                self._cond.wait()
        try:
            worker = WorkerProcess(self.env, self._start_timeout)
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
        with self._cond:
            self._live.add(worker)
            if self._closed:  # closed while it started
                self._live.discard(worker)
                worker.stop()
                raise WorkerGone("its bench is closed")
        return worker

    def _drop(self, worker: WorkerProcess) -> None:
        worker.stop()
        with self._cond:
            self._live.discard(worker)
            self._cond.notify()

    def pids(self) -> list[int]:
        with self._cond:
            return [worker.proc.pid for worker in self._live]

    def close(self) -> None:
        """Stop every worker (a running call fails with ``WorkerGone``), end the lease."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [worker for worker in self._live if worker not in idle]
            self._live.difference_update(idle)
            self._cond.notify_all()
        for worker in busy:
            worker.kill()  # its caller drops it
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.proc.wait()
        self._lease.release()
