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
) -> Iterator[R]:
    """``call(item)`` for each item on ``width`` threads, yielding each result as its call
    finishes. A new call starts only when one finishes, so once ``stopped()`` holds no
    more start, while those in flight complete and are yielded."""
    pending = iter(items)
    with ThreadPoolExecutor(width, thread_name_prefix=thread_name_prefix) as pool:
        running: set[Future[R]] = set()

        def fill() -> None:
            while len(running) < width and not stopped():
                try:
                    item = next(pending)
                except StopIteration:
                    return
                running.add(pool.submit(call, item))

        fill()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.discard(future)
                yield future.result()
            fill()
