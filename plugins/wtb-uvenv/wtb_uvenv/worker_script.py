"""The worker that runs nodes inside a uv environment — standard library only.

It is copied into each environment's ``site-packages`` as ``wtb_uvenv_worker`` and started
as ``python -I -m wtb_uvenv_worker``; nothing of WTB or LangGraph is installed there. The
main process imports this module too, for the framing (``read_frame`` / ``write_frame``).

Protocol: frames of a 4-byte big-endian length and a pickle (protocol 5) of plain data —
dicts, strings, bytes — over the worker's stdin (requests) and the stdout it had at start
(replies; the node's own ``print`` goes to stderr). The worker answers one ``ready`` frame,
then one reply per ``call``. A call names its target (a ``module:qualname`` reference or a
function by value), carries each state key pickled on its own, the working directory and
the variables to set and the W3C trace context of the node's span (set as the current
context when the environment has ``opentelemetry-api``, and as ``TRACEPARENT`` /
``TRACESTATE`` for the call); the reply holds each key of the update pickled on its own, or the
error (its kind, type, message, traceback and the key it concerns). The worker exits when
its stdin closes or its parent process is gone.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import importlib
import inspect
import marshal
import os
import pickle
import struct
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from typing import IO, Any

PROTOCOL = 5
_HEADER = struct.Struct(">I")
WHOLE = "__wtb_whole__"  # the key of a state or update that is not a dict
_TRACE_KEYS = ("traceparent", "tracestate")


def write_frame(stream: IO[bytes], message: dict[str, Any]) -> None:
    """Send one frame: the length, then the pickle of ``message``."""
    data = pickle.dumps(message, protocol=PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes, or ``None`` when the stream ends first."""
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """One frame's message, or ``None`` at the end of the stream."""
    header = read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    data = read_exactly(stream, _HEADER.unpack(header)[0])
    if data is None:
        return None
    message: dict[str, Any] = pickle.loads(data)
    return message


class CallError(Exception):
    """A failure to report: its kind (``node``, ``import``, ``decode``, ``encode``,
    ``setup``) and the key it concerns."""

    def __init__(self, kind: str, error: BaseException, key: str | None = None) -> None:
        super().__init__(str(error))
        self.kind, self.error, self.key = kind, error, key


def _import_reference(module: str, qualname: str) -> Any:
    value: Any = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def _value(encoded: tuple[str, Any]) -> Any:
    kind, data = encoded
    if kind == "module":
        return importlib.import_module(data)
    if kind == "function":
        return _function(data)
    return pickle.loads(data)


def _function(data: dict[str, Any]) -> Callable[..., Any]:
    """A function sent by value: its marshalled code, globals, defaults and closure."""
    namespace: dict[str, Any] = {"__builtins__": builtins, "__name__": data["module"]}
    closure = tuple(types.CellType(_value(cell)) for cell in data["closure"])
    func = types.FunctionType(
        marshal.loads(data["code"]), namespace, data["name"], _value(data["defaults"]), closure
    )
    func.__qualname__ = data["qualname"]
    func.__kwdefaults__ = _value(data["kwdefaults"])
    namespace[data["name"]] = func  # a function that calls itself by its global name
    for name, encoded in data["globals"].items():
        namespace[name] = _value(encoded)
    return func


def resolve_target(target: dict[str, Any]) -> Callable[..., Any]:
    """The callable a target describes, imported or rebuilt."""
    for path in target.get("paths", ()):
        if path not in sys.path:
            sys.path.insert(0, path)
    func: Callable[..., Any]
    try:
        if "reference" in target:
            module, _, qualname = target["reference"].partition(":")
            func = _import_reference(module, qualname)
        else:
            func = _function(target["function"])
        args = [pickle.loads(arg) for arg in target.get("partial_args", ())]
        kwargs = {k: pickle.loads(v) for k, v in target.get("partial_kwargs", {}).items()}
    except BaseException as exc:
        raise CallError("import", exc) from exc
    if args or kwargs:
        inner = func

        def func(state: Any) -> Any:
            return inner(*args, state, **kwargs)

    return func


class Worker:
    """Answers calls one at a time; remembers each target it has resolved."""

    def __init__(self) -> None:
        self.targets: dict[str, Callable[..., Any]] = {}
        self.loop = asyncio.new_event_loop()

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        func = self.targets.get(request["tid"])
        if func is None:
            func = self.targets[request["tid"]] = resolve_target(request["target"])
        state = self._decode(request["state"])
        try:
            os.chdir(request["cwd"])
        except OSError as exc:
            raise CallError("setup", exc) from exc
        trace = request.get("trace") or {}
        variables = {**request["env"], **_trace_variables(trace)}
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            with _trace_context(trace):
                try:
                    result = func(state)
                    if inspect.isawaitable(result):
                        result = self.loop.run_until_complete(result)
                except BaseException as exc:
                    raise CallError("node", exc) from exc
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return {"ok": True, "update": self._encode(result)}

    @staticmethod
    def _decode(state: dict[str, bytes]) -> Any:
        values = {}
        for key, data in state.items():
            try:
                values[key] = pickle.loads(data)
            except BaseException as exc:
                raise CallError("decode", exc, key) from exc
        return values.get(WHOLE, values)

    @staticmethod
    def _encode(update: Any) -> dict[str, bytes] | None:
        if update is None:
            return None
        items = update.items() if type(update) is dict else [(WHOLE, update)]
        encoded = {}
        for key, value in items:
            try:
                encoded[key] = pickle.dumps(value, protocol=PROTOCOL)
            except BaseException as exc:
                raise CallError("encode", exc, key) from exc
        return encoded


def _trace_variables(trace: dict[str, str]) -> dict[str, str]:
    """``TRACEPARENT`` / ``TRACESTATE``: OpenTelemetry's environment-variable carrier, for
    code in the node (or a process it starts) that reads the context from there."""
    return {name.upper(): value for name, value in trace.items() if name in _TRACE_KEYS}


@contextlib.contextmanager
def _trace_context(trace: dict[str, str]) -> Iterator[None]:
    """Run the call in the driver's trace context when the environment has
    ``opentelemetry-api`` (spans the node opens are children of its node span)."""
    if not trace:
        yield
        return
    try:
        from opentelemetry import context, propagate
    except ImportError:
        yield
        return
    token = context.attach(propagate.extract(trace))
    try:
        yield
    finally:
        context.detach(token)


def _failure(failure: CallError) -> dict[str, Any]:
    error = failure.error
    return {
        "ok": False,
        "kind": failure.kind,
        "key": failure.key,
        "type": f"{type(error).__module__}.{type(error).__qualname__}",
        "message": str(error),
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


def _watch_parent(parent: int) -> None:
    """Exit as soon as the process that started this worker is gone."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(3)


def main() -> None:
    """Serve calls on stdin / the original stdout until stdin closes."""
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the node prints goes to stderr, never into the protocol
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    write_frame(replies, {"ready": True, "pid": os.getpid(), "python": list(sys.version_info)})
    worker = Worker()
    while (request := read_frame(requests)) is not None:
        try:
            reply = worker.call(request)
        except CallError as failure:
            reply = _failure(failure)
        except Exception as exc:  # a malformed request: answer it, keep serving
            reply = _failure(CallError("setup", exc))
        with contextlib.suppress(BrokenPipeError):
            write_frame(replies, reply)


if __name__ == "__main__":
    main()
