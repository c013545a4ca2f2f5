"""Running calls on a thread pool, a bounded number at a time, results as they finish."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_bounded(
    items: Iterable[T],
    call: Callable[[T], R],
    width: int,
    stopped: Callable[[], bool],
    thread_name_prefix: str,
    started: Callable[[T], R] | None = None,
) -> Iterator[R]:
    """``call(item)`` for each item on ``width`` threads, yielding each result as its call
    finishes. A new call starts only when one finishes, so once ``stopped()`` holds no
    more start, while those in flight complete and are yielded. With ``started``,
    ``started(item)`` is yielded too, as each call starts (a call is submitted only when a
    thread is free for it, so it starts as it is submitted)."""
    pending = iter(items)
    with ThreadPoolExecutor(width, thread_name_prefix=thread_name_prefix) as pool:
        running: set[Future[R]] = set()

        def fill() -> list[R]:
            marks: list[R] = []
            while len(running) < width and not stopped():
                try:
                    item = next(pending)
                except StopIteration:
                    break
                running.add(pool.submit(call, item))
                if started is not None:
                    marks.append(started(item))
            return marks

        for mark in fill():  # not yield from: Ray's streaming calls send() values in
            yield mark
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.discard(future)
                yield future.result()
            for mark in fill():
                yield mark
