"""How a node's callable reaches its worker: by importable reference (``module:qualname``,
with the module's source directory on the worker's ``sys.path``), or — for a lambda or a
closure, and only when the environment's Python has this process's bytecode — by value
(its marshalled code, closure and the globals it reads). What cannot work in another
process is refused here, when the graph is built."""

from __future__ import annotations

import dis
import functools
import hashlib
import inspect
import marshal
import pickle
import site
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wtb_uvenv.errors import UnsupportedNodeError
from wtb_uvenv.interpreters import Interpreter
from wtb_uvenv.worker_script import PROTOCOL

# Parameters LangGraph fills in by name or annotation: they cannot cross processes.
_INJECTED = {"config", "runtime", "writer", "store", "previous"}
_INJECTED_TYPES = ("RunnableConfig", "Runtime", "StreamWriter", "BaseStore")
_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"}
_SITE_DIRS = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
_PREFIXES = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}


def is_project_dir(root: Path) -> bool:
    """Whether ``root`` holds the project's own modules (not the standard library, not an
    installed package: those the environment has, or must install, itself)."""
    if root in _SITE_DIRS or {"site-packages", "dist-packages"} & set(root.parts):
        return False
    return not any(root.is_relative_to(prefix) for prefix in _PREFIXES)


@dataclass(frozen=True)
class Target:
    """A node's callable as the worker receives it (``worker_script.resolve_target``)."""

    tid: str
    payload: dict[str, Any]
    is_async: bool
    how: str  # "module:qualname" or "by value"


def target_of(node: str, func: Any, interpreter: Interpreter) -> Target:
    """The target for ``func`` (a function, or a ``functools.partial`` of one)."""
    inner: Any = func
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if isinstance(func, functools.partial):
        inner, args, kwargs = func.func, func.args, func.keywords
    if not isinstance(inner, types.FunctionType):
        raise UnsupportedNodeError(
            f"node {node!r} is a {type(inner).__name__}; a uv environment runs plain functions "
            "(def or async def, or a functools.partial of one): wrap it in a function"
        )
    check_signature(node, inner)
    check_no_interrupt(node, inner)
    paths: set[str] = set()
    payload: dict[str, Any] = {}
    reference = reference_of(inner, paths)
    if reference is not None:
        payload["reference"], how = reference, reference
    elif interpreter.same_bytecode_as_this_process():
        payload["function"], how = _by_value(node, inner, paths, set()), "by value"
    else:
        raise UnsupportedNodeError(
            f"node {node!r} ({inner.__qualname__}) is not importable as module:qualname, and "
            f"sending it by value needs the same Python as this process "
            f"({sys.implementation.name} {sys.version_info[0]}.{sys.version_info[1]}) while its "
            f"environment has {interpreter.describe()}: define it at module level"
        )
    payload["partial_args"] = [_pickled(node, "an argument of its partial", a) for a in args]
    payload["partial_kwargs"] = {
        k: _pickled(node, f"partial argument {k!r}", v) for k, v in kwargs.items()
    }
    payload["paths"] = sorted(paths)
    tid = hashlib.sha256(pickle.dumps(payload, protocol=PROTOCOL)).hexdigest()[:16]
    return Target(tid, payload, inspect.iscoroutinefunction(inner), how)


def check_signature(node: str, func: types.FunctionType) -> None:
    """Refuse nodes that take LangGraph's ``config`` / ``runtime`` / ``writer`` / ``store``."""
    for param in list(inspect.signature(func).parameters.values())[1:]:
        annotation = str(param.annotation)
        if param.name in _INJECTED or any(t in annotation for t in _INJECTED_TYPES):
            raise UnsupportedNodeError(
                f"node {node!r} takes {param.name!r}: LangGraph's config, runtime, writer and "
                "store objects live in this process and cannot reach a uv environment's "
                "worker. Drop the parameter, or run the node without an environment"
            )


def check_no_interrupt(node: str, func: types.FunctionType) -> None:
    """Refuse nodes that call LangGraph's ``interrupt()``: it needs this process's runtime."""
    for name in global_names(func.__code__):
        value = func.__globals__.get(name)
        if _is_interrupt(value) or _is_interrupt(getattr(value, "interrupt", None)):
            raise UnsupportedNodeError(
                f"node {node!r} calls interrupt(), which pauses the graph through LangGraph's "
                "runtime in this process and cannot work in a uv environment's worker: use "
                "breakpoints, or run the node without an environment"
            )


def _is_interrupt(value: Any) -> bool:
    module = getattr(value, "__module__", None) or ""
    return getattr(value, "__name__", None) == "interrupt" and module.startswith("langgraph")


def global_names(code: types.CodeType) -> set[str]:
    """The global names ``code`` (and the code nested in it) reads or writes."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in _GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return {str(name) for name in names}


def reference_of(func: types.FunctionType, paths: set[str]) -> str | None:
    """``module:qualname`` when the worker can import ``func`` that way (adding its source
    directory to ``paths``); ``None`` for lambdas, closures, ``__main__``'s functions."""
    module, qualname = func.__module__, func.__qualname__
    if "<" in qualname or module == "__main__" or module not in sys.modules:
        return None
    value: Any = sys.modules[module]
    for part in qualname.split("."):
        value = getattr(value, part, None)
    root = source_root(module)
    if value is not func or root is None:
        return None
    if is_project_dir(root):
        paths.add(str(root))
    return f"{module}:{qualname}"


def source_root(module: str) -> Path | None:
    """The directory ``module`` is imported from (``/src`` for ``/src/pkg/mod.py``)."""
    file = getattr(sys.modules.get(module), "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    path = path.parent if path.stem == "__init__" else path.with_suffix("")
    parts = module.split(".")
    if list(path.parts[-len(parts) :]) != parts:
        return None  # imported under a name its path does not give (e.g. by file location)
    return path.parents[len(parts) - 1]


def _by_value(
    node: str, func: types.FunctionType, paths: set[str], active: set[int]
) -> dict[str, Any]:
    if id(func) in active:
        raise UnsupportedNodeError(
            f"node {node!r} ({func.__qualname__}) refers to itself through a closure and "
            "cannot be sent by value: define it at module level"
        )
    active.add(id(func))
    closure = []
    for i, cell in enumerate(func.__closure__ or ()):
        try:
            contents = cell.cell_contents
        except ValueError:
            raise UnsupportedNodeError(
                f"node {node!r}: variable {func.__code__.co_freevars[i]!r} of its closure is "
                "not yet bound; bind it before the graph is built"
            ) from None
        label = f"closure variable {func.__code__.co_freevars[i]!r}"
        closure.append(_value(node, label, contents, paths, active))
    names = global_names(func.__code__)
    globals_ = {
        name: _value(node, f"global {name!r}", func.__globals__[name], paths, active)
        for name in sorted(names)
        if name in func.__globals__ and func.__globals__[name] is not func
    }
    active.discard(id(func))
    return {
        "code": marshal.dumps(func.__code__),
        "name": func.__name__,
        "qualname": func.__qualname__,
        "module": func.__module__,
        "defaults": ("pickle", _pickled(node, "defaults", func.__defaults__)),
        "kwdefaults": ("pickle", _pickled(node, "keyword defaults", func.__kwdefaults__)),
        "closure": closure,
        "globals": globals_,
    }


def _value(node: str, label: str, value: Any, paths: set[str], active: set[int]) -> Any:
    if isinstance(value, types.ModuleType):
        root = source_root(value.__name__)
        if root is not None and is_project_dir(root):
            paths.add(str(root))
        return ("module", value.__name__)
    if isinstance(value, types.FunctionType) and reference_of(value, paths) is None:
        return ("function", _by_value(node, value, paths, active))
    owner = getattr(type(value), "__module__", "")
    if owner in sys.modules and (root := source_root(owner)) and is_project_dir(root):
        paths.add(str(root))
    return ("pickle", _pickled(node, label, value))


def _pickled(node: str, label: str, value: Any) -> bytes:
    try:
        return pickle.dumps(value, protocol=PROTOCOL)
    except Exception as exc:
        raise UnsupportedNodeError(
            f"node {node!r}: its {label} cannot be sent to its uv environment "
            f"({type(exc).__name__}: {exc}); define the node at module level, with values "
            "that pickle"
        ) from None
