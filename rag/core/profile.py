"""Seconds spent per stage, for `rag ingest --profile` and `make bench`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Profile:
    """Accumulated wall time per named stage (stages may repeat, e.g. once per document)."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    listener: Callable[[str], None] | None = None  # told each stage as it starts (progress bars)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.listener is not None:
            self.listener(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
            self.calls[name] = self.calls.get(name, 0) + 1

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def table(self) -> str:
        """One line per stage, slowest first, with its share of the total."""
        total = sum(self.seconds.values()) or 1.0
        lines = [f"{'stage':22} {'seconds':>8} {'share':>6}"]
        for name, seconds in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"{name:22} {seconds:8.2f} {seconds / total:6.0%}")
        lines.append(f"{'total':22} {sum(self.seconds.values()):8.2f}")
        return "\n".join(lines)
