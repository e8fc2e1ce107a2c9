"""The terminal display of `linksyn run`: the LLM client's progress lines parsed back into
numbers, passed on from Dagster's log records only while a display listens, and shown one
line per finished run when the output is not a terminal."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from linksyn_dagster.llm.client import _Progress
from linksyn_dagster.run_display import LLMProgress, ProgressLogHandler, TerminalDisplay, listening, \
    parse_llm_progress
from linksyn_dagster.status import ago, human_bytes


def test_the_clients_progress_line_parses_back_into_its_numbers():
    progress = _Progress("qa_synthesis", total=40, cached=3, log=logging.getLogger("test"), every_s=3600)
    for ok in (True, True, False):
        progress.tick(ok)
    assert parse_llm_progress(progress.line()) == LLMProgress("qa_synthesis", 3, 40, 1)
    assert parse_llm_progress("qa_synthesis: 40 call(s) to make, 3 answered from the result store") is None
    assert parse_llm_progress("STEP_SUCCESS - Finished execution of step") is None


def _record(message: str, with_meta: bool = True) -> logging.LogRecord:
    record = logging.LogRecord("dagster", logging.INFO, __file__, 1, f"job - run - step - {message}", None, None)
    if with_meta:
        record.dagster_meta = {"orig_message": message, "run_id": "run", "step_key": "step"}
    return record


def test_the_log_handler_passes_progress_on_only_while_a_display_listens():
    handler, heard = ProgressLogHandler(), []
    line = "difficulty_judge: 2/5 done, 1.00/s, ETA 3s, 0 failed"
    handler.emit(_record(line))  # nobody listens: nothing happens
    with listening(heard.append):
        handler.emit(_record(line))
        handler.emit(_record("difficulty_judge: 5 call(s) to make, 0 answered from the result store"))
        handler.emit(_record(line, with_meta=False))  # not a Dagster record
    handler.emit(_record(line))
    assert heard == [LLMProgress("difficulty_judge", 2, 5, 0)]


def test_without_a_terminal_each_finished_run_is_one_line_with_its_calls_and_the_time_per_stage_adds_up():
    out = io.StringIO()
    with TerminalDisplay(Console(file=out, width=60)) as display:
        display.started("seed_qa, seed_kps [physics]")
        display.llm(LLMProgress("kp_extraction", 4, 10, 0))
        display.llm(LLMProgress("kp_extraction", 10, 10, 2))
        display.say("a message between runs, longer than the sixty columns of this console, on one line")
        display.started("seed_qa, seed_kps [chemistry]")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("✓ seed_qa, seed_kps [physics]  ")
    assert lines[0].endswith("kp_extraction 10/10 (2 failed)")
    assert lines[1].startswith("a message between runs") and lines[1].endswith("on one line")
    assert lines[2].startswith("✓ seed_qa, seed_kps [chemistry]  ") and len(lines) == 3
    assert set(display.seconds) == {"seed_qa, seed_kps"} and display.seconds["seed_qa, seed_kps"] >= 0


def test_ago_and_sizes_read_as_a_person_would_say_them():
    assert ago(None) == "never"
    assert ago(1000.0, now=1030.0) == "30 s ago" and ago(0.0, now=7200.0) == "2 h ago"
    assert ago(0.0, now=3 * 86400 + 5) == "3 d ago"
    assert human_bytes(512) == "512 B" and human_bytes(3 * 1024 * 1024) == "3.0 MB"


def test_the_summary_counts_released_items_without_a_level_in_their_discipline(tmp_path):
    """Items the judge gave no level are released but in no level's cell: the per-discipline
    table counts them in a column of their own, so its items add up to the release's."""
    import polars as pl

    from linksyn_dagster.pipeline import PipelineSummary
    from linksyn_dagster.resources.warehouse import WarehouseResource
    from linksyn_dagster.run_display import summary_tables
    from linksyn_dagster.settings import LinkSynSettings

    settings = LinkSynSettings.model_validate({"data_dir": tmp_path})
    warehouse = WarehouseResource(database=str(settings.duckdb_path))
    warehouse.ensure_schema()
    warehouse.write_slice("linkqa_dataset", pl.DataFrame(
        {"qa_id": ["a", "b", "c"], "discipline": ["physics", "physics", "law"], "difficulty": [3, None, None]},
        schema={"qa_id": pl.Utf8, "discipline": pl.Utf8, "difficulty": pl.Int32}), None, [])
    summary = PipelineSummary(seed_disciplines=["physics", "law"], path_disciplines=["physics", "law"], released=3,
                              cells=[{"discipline": "physics", "level": 3, "target": 2, "released": 1},
                                     {"discipline": "law", "level": 3, "target": 1, "released": 0}])
    out = io.StringIO()
    console = Console(file=out, width=120)
    for table in summary_tables(settings, summary, {}):
        console.print(table)
    text = out.getvalue()
    assert "2 of them (the judge gave none)" in text
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in text.splitlines() if line.count("│") >= 4}
    assert rows["physics"] == ["2 / 2", "1 / 2", "1"] and rows["law"] == ["1 / 1", "0 / 1", "1"]
