"""What the progress bar says during a load: one fraction over all the stages, with rows and
bytes read, the percentage and the time left.

A load is several stages (read, schema, preprocess, health statistics), each reporting its own
`Progress`; the bar shows one fraction that only moves forward, each stage owning a share of
it. The load's first event is the size estimate (udl_core/formats/estimate.py), so the rows and
bytes to expect are on the bar before reading starts. Nothing here touches a widget: the
`RunMonitor` puts the text on the bar.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from udl_core.events import Progress
from udl_core.wording import count

__all__ = ["LoadProgress", "LoadStatus", "format_bytes"]

# The share of the bar each stage owns, from where to where. Reading dominates a load; the
# image formats scan headers, then decode.
SPANS: dict[str, tuple[float, float]] = {
    "estimate": (0.0, 0.0),
    "read": (0.0, 0.6),
    "scan": (0.0, 0.1),
    "decode": (0.1, 0.6),
    "schema": (0.6, 0.65),
    "preprocess": (0.65, 0.95),
    "health": (0.95, 1.0),
}
VERBS = {"read": "reading", "scan": "scanning", "decode": "decoding", "schema": "schema",
         "preprocess": "preprocessing", "health": "batch statistics"}
LEFT_AFTER_S = 0.5   # no time left guessed from the first instants


def format_bytes(n: float) -> str:
    """Bytes as the estimate writes them (decimal units): '98.2 MB'."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass(frozen=True)
class LoadStatus:
    fraction: float      # of the whole load, 0..1, never going back
    text: str            # for the bar
    estimate: str = ""   # the estimate's sentence, once (for the log), on the estimate event


class LoadProgress:
    """Turns one load's `Progress` events into the bar's fraction and text."""

    def __init__(self) -> None:
        self.begin()

    def begin(self, now: float | None = None) -> None:
        self.started = time.perf_counter() if now is None else now
        self.fraction = 0.0
        self.rows_expected: int | None = None
        self.bytes_expected: int | None = None
        self.exact = False

    def update(self, event: Progress, now: float | None = None) -> LoadStatus:
        now = time.perf_counter() if now is None else now
        if event.stage == "estimate":
            self.rows_expected = event.total
            self.bytes_expected = event.bytes_total
            about = "" if event.total and event.done == event.total else "\u2248 "   # done == total: exact
            size = f" \u00b7 {format_bytes(event.bytes_total)}" if event.bytes_total else ""
            rows = f"{about}{count(event.total)} rows" if event.total else "size unknown"
            return LoadStatus(self.fraction, f"about to read {rows}{size}", event.message)
        start, end = SPANS.get(event.stage, (self.fraction, self.fraction))
        part = event.fraction
        if part is not None:
            self.fraction = max(self.fraction, start + (end - start) * part)
        else:
            self.fraction = max(self.fraction, start)
        pieces = [VERBS.get(event.stage, event.stage)]
        if event.stage == "read":
            pieces += self._read_pieces(event)
        elif event.message:
            pieces.append(event.message)
        pieces.append(f"{self.fraction:.0%}")
        elapsed = now - self.started
        if elapsed >= LEFT_AFTER_S and 0.02 <= self.fraction < 1.0:
            pieces.append(f"{_clock(elapsed / self.fraction * (1 - self.fraction))} left")
        return LoadStatus(self.fraction, " \u00b7 ".join(pieces))

    def _read_pieces(self, event: Progress) -> list[str]:
        pieces = []
        total = event.total or self.rows_expected
        if event.done:
            of = f" of {'' if event.total else chr(0x2248) + ' '}{count(total)}" if total else ""
            pieces.append(f"{count(event.done)}{of} rows")
        elif total:
            pieces.append(f"\u2248 {count(total)} rows")
        bytes_total = event.bytes_total or self.bytes_expected
        if event.bytes_done is not None and bytes_total:
            pieces.append(f"{format_bytes(event.bytes_done)} of {format_bytes(bytes_total)}")
        elif bytes_total:
            pieces.append(format_bytes(bytes_total))
        return pieces
