"""Progress lines for long loops (training, sampling), at most one every so many seconds."""

import time
from collections.abc import Callable


class Progress:
    """Call with the number of items done; prints ``label: done/total (seconds)`` every ``every``
    seconds, and at the end if it printed before (a short loop stays silent)."""

    def __init__(self, label: str, total: int, log: Callable[[str], None] = print, every: float = 30.0):
        self.label, self.total, self.log, self.every = label, total, log, every
        self.start = self.last = time.perf_counter()
        self.printed = False

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last >= self.every or (done == self.total and self.printed):
            self.last, self.printed = now, True
            self.log(f"  {self.label}: {done}/{self.total} ({now - self.start:.0f} s)")
