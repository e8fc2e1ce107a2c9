"""What ``linksyn run`` and ``linksyn demo`` show in a terminal.

Dagster's own log lines go to a file under the data dir (the instance's ``python_logs``
handlers, see ``pipeline.instance_home``); the terminal shows one progress line per stage
and partition instead: the LLM calls done of the total, their rate, the time left and the
failures, read live from the same log records (the LLM client's progress lines, which the
Dagster UI shows in the run's log), and a summary at the end (``summary_tables``).

A terminal gets rich's live progress bars; anything else (a pipe, a CI log) gets one line per
finished stage, so a log file stays readable.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn
from rich.table import Table

# the LLM client's progress line (llm/client.py, _Progress.line), e.g.
# "qa_synthesis: 12/40 done, 0.80/s, ETA 35s, 1 failed"
_LLM_PROGRESS = re.compile(r"^(?P<stage>[\w.-]+): (?P<done>\d+)/(?P<total>\d+) done, (?P<rate>[\d.]+)/s, "
                           r"ETA (?P<eta>\S+)s, (?P<failed>\d+) failed$")


@dataclass(frozen=True)
class LLMProgress:
    stage: str
    done: int
    total: int
    failed: int


def parse_llm_progress(message: str) -> LLMProgress | None:
    """The LLM client's progress line as numbers; None for any other message."""
    match = _LLM_PROGRESS.match(message.strip())
    if not match:
        return None
    return LLMProgress(match["stage"], int(match["done"]), int(match["total"]), int(match["failed"]))


# who listens to the progress of runs in this process: the terminal display of `linksyn
# run`, while it runs; nobody in a `dagster dev` process (its runs show in the UI)
_listener: Callable[[LLMProgress], None] | None = None
_listener_lock = threading.Lock()


@contextmanager
def listening(callback: Callable[[LLMProgress], None]) -> Iterator[None]:
    """Send the LLM progress of the runs of this process to ``callback`` while inside."""
    global _listener
    with _listener_lock:
        _listener = callback
    try:
        yield
    finally:
        with _listener_lock:
            _listener = None


class ProgressLogHandler(logging.Handler):
    """A Dagster log handler (named in the instance's ``python_logs``) that passes the LLM
    client's progress lines to this process's listener, if any."""

    def emit(self, record: logging.LogRecord) -> None:
        listener = _listener
        meta = getattr(record, "dagster_meta", None)
        if listener is None or not isinstance(meta, dict):
            return
        progress = parse_llm_progress(str(meta.get("orig_message") or ""))
        if progress is not None:
            try:
                listener(progress)
            except Exception:  # a display problem never fails a run
                self.handleError(record)


class TerminalDisplay:
    """The progress of ``run_pipeline`` in a terminal: use ``started`` for each Dagster run
    (stage and partition), ``say`` for messages, ``llm`` for LLM progress (thread-safe)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.live = self.console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(bar_width=24), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}", markup=False), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console, disable=not self.live)
        self._task: TaskID | None = None
        self._label = ""
        self._started = 0.0
        self._calls: dict[str, LLMProgress] = {}
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}  # per stage (the label without its partition): time spent

    def __enter__(self) -> TerminalDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._finish()
        self.progress.stop()

    def say(self, text: str) -> None:
        """A message of the pipeline's: it speaks between runs, so the run before has ended."""
        with self._lock:
            self._finish()
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def started(self, label: str) -> None:
        """A Dagster run of ``label`` (its assets and partition) starts; the previous one ended."""
        with self._lock:
            self._finish()
            self._label, self._started, self._calls = label, time.monotonic(), {}
            self._task = self.progress.add_task(label, total=None, failed="")

    def llm(self, update: LLMProgress) -> None:
        with self._lock:
            if self._task is None:
                return
            self._calls[update.stage] = update
            failed = f"{update.failed} failed" if update.failed else ""
            self.progress.update(self._task, description=f"{self._label} · {update.stage}", total=update.total,
                                 completed=update.done, failed=failed)

    def _finish(self) -> None:
        if self._task is None:
            return
        seconds = time.monotonic() - self._started
        stage = self._label.split(" [", 1)[0]
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        calls = ", ".join(f"{p.stage} {p.done}/{p.total}" + (f" ({p.failed} failed)" if p.failed else "")
                          for p in self._calls.values())
        if self.live:  # the bar stays, full
            total = next(t.total for t in self.progress.tasks if t.id == self._task) or 1
            self.progress.update(self._task, total=total, completed=total)
        else:
            self.console.print(f"✓ {self._label}  {seconds:.0f}s" + (f"  {calls}" if calls else ""), markup=False,
                               highlight=False, soft_wrap=True)
        self._task = None


def _counts(cells: list[dict], key: str, field: str) -> dict:
    totals: dict = {}
    for cell in cells:
        totals[cell[key]] = totals.get(cell[key], 0) + int(cell[field] or 0)
    return totals


def summary_tables(settings, summary, seconds: dict[str, float]) -> list[Table]:
    """The end of a run as tables: the release, items per discipline and the difficulty mix
    against their targets, LLM calls, tokens, cost and failures per stage, the time each
    stage took. ``summary``: run_pipeline's PipelineSummary; ``seconds``: per stage."""
    from linksyn_dagster.queries import sql
    from linksyn_dagster.resources.warehouse import has_table, read_warehouse

    release = Table(title="release", show_header=False, title_justify="left")
    release.add_column(no_wrap=True)
    release.add_column(overflow="fold")
    release.add_row("path", str(settings.release_dir))
    release.add_row("version", summary.release_version or "-")
    release.add_row("items", f"{summary.released} after {len(summary.rounds)} further round(s)")
    release.add_row("tokens", f"{summary.tokens_released:,}"
                    + (f" of a target of {summary.tokens_target:,}" if summary.tokens_target else " (no token target)"))

    usage: list[tuple] = []
    failures: dict[str, int] = {}
    drops: list[tuple] = []
    unjudged: dict[str, int] = {}  # released items the judge gave no level, per discipline (in no level's cell)
    with read_warehouse(settings) as conn:
        if conn is not None:
            usage = conn.execute(sql("usage_by_stage")).fetchall()
            failures = dict(conn.execute(sql("failures_per_stage")).fetchall())
            drops = conn.execute(sql("drops_by_reason")).fetchall()
            if has_table(conn, "linkqa_dataset"):
                unjudged = dict(conn.execute(sql("release_unjudged_per_discipline")).fetchall())
    if unjudged:
        release.add_row("without a level", f"{sum(unjudged.values())} of them (the judge gave none): in no level's "
                                           "cell, counted per discipline below")

    levels = sorted({c["level"] for c in summary.cells if c["level"] is not None})
    disciplines = Table(title="items per discipline and level (released / target)",
                        title_justify="left")
    disciplines.add_column("discipline")
    disciplines.add_column("items", justify="right")
    for level in levels:
        disciplines.add_column(f"L{level}", justify="right")
    if unjudged:
        disciplines.add_column("unjudged", justify="right")
    by_cell = {(c["discipline"], c["level"]): c for c in summary.cells}
    for discipline in sorted({c["discipline"] for c in summary.cells} | set(unjudged)):
        cells = [c for c in summary.cells if c["discipline"] == discipline]
        disciplines.add_row(discipline, f"{sum(c['released'] for c in cells) + unjudged.get(discipline, 0)} / "
                                        f"{sum(c['target'] for c in cells)}",
                            *(f"{by_cell[(discipline, lv)]['released']} / {by_cell[(discipline, lv)]['target']}"
                              if (discipline, lv) in by_cell else "-" for lv in levels),
                            *([str(unjudged.get(discipline, 0))] if unjudged else []))
    released, target = _counts(summary.cells, "level", "released"), _counts(summary.cells, "level", "target")
    all_released, all_target = sum(released.values()) or 1, sum(target.values()) or 1
    disciplines.add_row("difficulty mix", "released / target",
                        *(f"{released.get(lv, 0) / all_released:.0%} / {target.get(lv, 0) / all_target:.0%}"
                          for lv in levels), *(["(no level)"] if unjudged else []), style="bold")

    llm = Table(title="LLM calls per stage", title_justify="left")
    for name in ("stage", "calls", "tokens", "cost (USD)", "failures"):
        llm.add_column(name, justify="left" if name == "stage" else "right")
    for stage, calls, prompt, completion, _reasoning, cost in usage:
        llm.add_row(stage, f"{calls:,}", f"{(prompt or 0) + (completion or 0):,}", f"{cost or 0:.4f}",
                    str(failures.pop(stage, 0)))
    for stage, count in failures.items():  # stages none of whose calls succeeded
        llm.add_row(stage, "0", "0", "0", str(count))

    dropped = Table(title="items left out of the release", title_justify="left")
    dropped.add_column("reason")
    dropped.add_column("items", justify="right")
    for reason, items in drops:
        dropped.add_row(reason, str(items))

    timing = Table(title="time per stage", title_justify="left")
    timing.add_column("stage (all partitions)")
    timing.add_column("seconds", justify="right")
    for stage, spent in seconds.items():
        timing.add_row(stage, f"{spent:.0f}")
    return [release, disciplines, llm, *([dropped] if drops else []), timing]
