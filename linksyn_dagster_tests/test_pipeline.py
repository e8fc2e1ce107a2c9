"""End to end: every asset materialized through Dagster against a temp DuckDB, the real
Neo4j server of the session and the scripted LLM server over HTTP."""

from __future__ import annotations

import json
import re
from html import escape

import dagster as dg
import duckdb
import polars as pl
import pytest

from linksyn_dagster.core.control import cell_targets
from linksyn_dagster.core.difficulty import mix_for
from linksyn_dagster.core.quotas import plan_quotas
from linksyn_dagster.core.taxonomy import discipline_for_subject
from linksyn_dagster.estimate import estimate_for
from linksyn_dagster.pipeline import run_pipeline
from linksyn_dagster.settings import load_settings
from linksyn_dagster_tests.conftest import SHARED_DATA
from linksyn_dagster_tests.fixtures_pipeline import side_tables_match_their_materializations

pytestmark = pytest.mark.slow


def _sql(settings, query: str, *params) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        return conn.execute(query, list(params) or None).fetchall()


def _table_counts(settings) -> dict[str, int]:
    tables = ["seed_qa", "seed_kps", "knowledge_points", "seed_kp_links", "kp_cooccurrence", "kp_paths",
              "synthesized_qa", "enhanced_qa", "linkqa_dataset", "llm_failures", "seed_rejects"]
    return {t: _sql(settings, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def test_demo_pipeline_end_to_end(pipeline_settings, llm_server, neo4j_driver, monkeypatch, tmp_path):
    # an evaluation set holding a copy of one demo seed (case and punctuation changed): that
    # seed must be left out before it spreads, and nothing released may overlap the set
    leaked = "velocity is the rate of change, with respect to time, of which quantity"
    benchmark = tmp_path / "benchmarks" / "high_school_physics_test.csv"
    benchmark.parent.mkdir()
    benchmark.write_text(f'"{leaked}?",Acceleration,Position (displacement),Force,Momentum,B\n'
                         '"What is the SI unit of electric charge?",Volt,Ampere,Coulomb,Ohm,C\n', encoding="utf-8")
    monkeypatch.setenv("LINKSYN_DECONTAM__BENCHMARK_PATHS", json.dumps([str(benchmark.parent)]))
    settings = load_settings()
    before = estimate_for(settings)  # nothing run yet: the defaults
    summary = run_pipeline(settings, say=lambda _: None)
    assert len(summary.seed_disciplines) >= 6
    # the estimate made before any call is within 25% of the calls the run made; made again
    # now, on this run's measured ratios and tokens, it matches each stage's calls closely
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        actual = dict(conn.execute("SELECT stage, count(*) FROM llm_usage GROUP BY stage").fetchall())
    assert abs(before.calls - sum(actual.values())) <= 0.25 * sum(actual.values()), (before, actual)
    after = {s.stage: s.calls for s in estimate_for(settings).stages}
    assert all(abs(after[stage] - n) <= max(1, 0.02 * n) for stage, n in actual.items()), (after, actual)
    # only the release's distance to its targets may miss (WARN): nothing steers to them yet
    assert set(summary.failed_checks) <= {"distribution_report:release_disciplines_on_target",
                                          "distribution_report:release_difficulty_on_target"}, summary.failed_checks

    latest = settings.release_dir / "latest"  # releases are versioned directories
    release = pl.read_parquet(latest / "linkqa.parquet")
    assert release.height > 0
    assert release.get_column("discipline").n_unique() >= 6
    assert (latest / "linkqa.jsonl").read_text().count("\n") == release.height
    card = (latest / "README.md").read_text()
    assert card.startswith("---") and f"items: {release.height}" in card
    report = settings.data_dir / "reports" / "distribution_report.md"
    assert "KP coverage" in report.read_text()
    summary_json = json.loads((settings.data_dir / "reports" / "distribution_report.json").read_text())
    assert summary_json["items"] == release.height and 0 < summary_json["kp_coverage"] <= 1
    # every cell the release left short says why, as the release's metadata did
    assert len(summary_json["short_cells"]) == summary_json["cells_short"]
    assert all(cell["why_short"] for cell in summary_json["short_cells"]), summary_json["short_cells"]
    # the release against its targets: the plan's quotas and the difficulty mix, recomputed here
    quotas = plan_quotas(json.loads(_sql(settings, "SELECT walk_params FROM walk_plan LIMIT 1")[0][0]))
    shares = release.get_column("discipline").value_counts(normalize=True)
    released = dict(shares.iter_rows())
    l1 = sum(abs(released.get(d, 0.0) - quotas.get(d, 0) / sum(quotas.values())) for d in {*quotas, *released})
    assert summary_json["discipline_l1"] == pytest.approx(l1, abs=1e-4)
    failed = "distribution_report:release_disciplines_on_target" in summary.failed_checks
    assert failed == (l1 > settings.release.discipline_l1_tolerance)
    # seeds pulled along the paths: spread, and reported
    assert summary_json["seeds_pulled"] > 0 and summary_json["seed_use_max"] >= 1

    # decontamination: the copied seed is out of seed_qa and named in decontamination_hits
    hits = _sql(settings, "SELECT stage, partition_key, benchmark_file, benchmark_row FROM decontamination_hits")
    assert [(h[0], h[1], h[3]) for h in hits] == [("seed_qa", "physics", 1)]
    assert hits[0][2].endswith("high_school_physics_test.csv")
    assert _sql(settings, "SELECT count(*) FROM seed_qa WHERE question LIKE 'Velocity is the rate%'")[0][0] == 0
    assert "quality_flags" in release.columns
    # the report's charts are real PNGs, and the HTML report carries them inline
    charts = sorted((settings.data_dir / "reports" / "charts").glob("*.png"))
    assert [c.stem for c in charts] == ["cost", "difficulty", "disciplines", "kp_coverage", "kp_usage"]
    assert all(c.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and c.stat().st_size > 5000 for c in charts)
    html = (settings.data_dir / "reports" / "distribution_report.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "http" not in html.split("</head>")[0]
    # estimate against actual: walk_plan recorded the estimate before any path's call (the
    # defaults, as `before`: not re-made on this run's calls, whatever its rounds), and the
    # report sets it against the calls made: within 25% in all
    recorded = dict(_sql(settings, "SELECT stage, calls FROM run_estimate"))
    assert recorded == {**{s.stage: s.calls for s in before.stages},
                        "kp_extraction": _sql(settings, "SELECT count(*) FROM seed_qa")[0][0]}, (recorded, before)
    made = sum(actual.values())
    assert summary_json["llm_calls"] == made and summary_json["estimated_llm_calls"] == sum(recorded.values())
    assert abs(summary_json["estimated_llm_calls"] - made) <= 0.25 * made, (recorded, actual)
    assert summary_json["llm_calls_vs_estimate"] == round(made / sum(recorded.values()), 3)
    vs_estimate = html.split("<h2>Estimate against actual</h2>", 1)[1].split("</section>", 1)[0]
    assert "<th>estimated_calls</th>" in vs_estimate and vs_estimate.count("<tr>") == 1 + len(recorded) + 1
    assert f'<td>total</td><td class="num">{sum(recorded.values())}</td><td class="num">{made}</td>' in vs_estimate
    assert f"| total | {sum(recorded.values())} | {made} |" in report.read_text()
    # ... and a few items of every discipline to look at, each with its KP chain drawn (a box
    # per path KP), its seeds' file:line, the difficulty judged and the verdict
    section = html.split("<h2>Items to look at</h2>", 1)[1]
    articles = dict(re.findall(r'<article class="item" id="item-([^"]+)">(.*?)</article>', section, re.S))
    shown = _sql(settings, "SELECT qa_id, discipline, len(path_kp_ids), difficulty FROM linkqa_dataset "
                           "WHERE list_contains(?, qa_id)", list(articles))
    assert len(shown) == len(articles)
    per_discipline = {d: sum(1 for row in shown if row[1] == d) for d in set(release.get_column("discipline"))}
    assert all(1 <= n <= 3 for n in per_discipline.values()), per_discipline
    where = {}
    for qa_id, file, line in _sql(settings, "SELECT d.qa_id, s.source_file, s.source_line FROM (SELECT qa_id, "
                                            "unnest(source_seed_ids) AS seed_id FROM linkqa_dataset) d "
                                            "JOIN seed_qa s USING (seed_id)"):
        where.setdefault(qa_id, []).append(f"{file}:{line}")
    for qa_id, _, kps_on_path, level in shown:
        item = articles[qa_id]
        assert item.count('<span class="kp" ') == kps_on_path >= 2 and '<div class="chain">' in item
        assert all(f'<span class="where">{escape(w)}</span>' in item for w in where[qa_id]), item
        assert f"judged {level}" in item and '<span class="verdict">agrees: the verifier' in item
    report_md = report.read_text()
    assert "## Items to look at" in report_md and report_md.count("- KP chain: ") == len(articles)
    instance = dg.DagsterInstance.get()  # the pipeline's instance (DAGSTER_HOME): the asset page's preview
    try:
        event = instance.get_latest_materialization_event(dg.AssetKey("distribution_report"))
        preview = event.asset_materialization.metadata["items_to_look_at"].value
    finally:
        instance.dispose()
    assert all(f"### {d}".replace("_", "\\_") in preview for d in per_discipline)
    assert preview.count("- source seeds: ") == len(articles)

    # provenance: every release row joins to stored seeds and paths
    orphans = _sql(settings, """
        SELECT count(*) FROM (SELECT qa_id, unnest(source_seed_ids) AS seed_id FROM linkqa_dataset) d
        LEFT JOIN seed_qa s USING (seed_id) WHERE s.seed_id IS NULL""")[0][0]
    assert orphans == 0
    assert _sql(settings, "SELECT count(*) FROM linkqa_dataset WHERE len(source_seed_ids) = 0")[0][0] == 0
    missing_paths = _sql(settings, """
        SELECT count(*) FROM linkqa_dataset d LEFT JOIN kp_paths p USING (path_id) WHERE p.path_id IS NULL""")[0][0]
    assert missing_paths == 0
    # ... and every path KP exists as a node in Neo4j
    path_kps = {r[0] for r in _sql(settings, "SELECT DISTINCT unnest(kp_ids) FROM kp_paths")}
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (k:KnowledgePoint) WHERE k.kp_id IN $ids RETURN count(k) AS n", ids=sorted(path_kps))
    assert records[0]["n"] == len(path_kps)

    # the graph in Neo4j equals DuckDB, and coverage counters were written
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (k:KnowledgePoint) RETURN count(k) AS kps, sum(coalesce(k.visits, 0)) AS visits")
    kp_count, visit_sum = records[0]["kps"], records[0]["visits"]
    assert kp_count == _sql(settings, "SELECT count(*) FROM knowledge_points")[0][0]
    assert visit_sum == _sql(settings, "SELECT sum(length) FROM kp_paths")[0][0]
    records, _, _ = neo4j_driver.execute_query("MATCH ()-[e:CO_OCCURS]->() RETURN count(e) AS n, min(e.weight) AS w")
    assert records[0]["n"] == _sql(settings, "SELECT count(*) FROM kp_cooccurrence")[0][0] > 0
    assert records[0]["w"] >= 1

    # every LLM item is in its output or in llm_failures (the scripted server never fails here)
    seeds = _sql(settings, "SELECT count(*) FROM seed_qa")[0][0]
    extracted = _sql(settings, "SELECT count(DISTINCT seed_id) FROM seed_kps")[0][0]
    assert extracted == seeds
    # (a synthesis call writes LINKSYN_SYNTHESIS__CANDIDATES versions of a path's item)
    assert _sql(settings, "SELECT count(DISTINCT path_id) FROM synthesized_qa")[0][0] == _sql(
        settings, "SELECT count(*) FROM kp_paths")[0][0]
    assert _sql(settings, "SELECT max(n), min(n) FROM (SELECT path_id, count(*) AS n FROM synthesized_qa "
                          "GROUP BY path_id)")[0] == (settings.synthesis.candidates,) * 2
    # every item was asked for its path's level; only items judged off their level were rewritten
    assert _sql(settings, "SELECT count(*) FROM synthesized_qa q JOIN kp_paths p USING (path_id) "
                          "WHERE q.target_difficulty IS DISTINCT FROM p.target_difficulty "
                          "OR q.target_difficulty NOT BETWEEN 1 AND 5")[0][0] == 0
    # (judged on it: its median reading is the level, and the learned model agrees)
    confidence = settings.synthesis.level_confidence
    assert _sql(settings, "SELECT count(*) FROM enhanced_qa r JOIN enhanced_qa s ON r.enhanced_from = s.qa_id "
                          "WHERE (s.difficulty = s.target_difficulty AND s.difficulty_confidence >= ?) "
                          "OR s.difficulty IS NULL", confidence)[0][0] == 0
    assert _sql(settings, "SELECT count(*) FROM enhanced_qa WHERE difficulty NOT BETWEEN 1 AND 5")[0][0] == 0
    # at most one version per path goes on to verification: the surest judged on its level
    # (no version of its path judged on its level more surely); every verified item is one of those
    assert _sql(settings, "SELECT count(*) FROM (SELECT path_id FROM enhanced_qa GROUP BY path_id "
                          "HAVING sum(selected::INT) > 1)")[0][0] == 0
    assert _sql(settings, "SELECT count(*) FROM enhanced_qa WHERE selected AND "
                          "(difficulty IS DISTINCT FROM target_difficulty OR difficulty_confidence < ?)",
                confidence)[0][0] == 0
    assert _sql(settings, "SELECT count(*) FROM enhanced_qa WHERE selected")[0][0] > 0
    assert _sql(settings, "SELECT count(*) FROM enhanced_qa s JOIN enhanced_qa o USING (path_id) "
                          "WHERE s.selected AND NOT o.selected AND o.difficulty = o.target_difficulty "
                          "AND o.difficulty_confidence > s.difficulty_confidence")[0][0] == 0
    assert _sql(settings, "SELECT count(*) FROM verified_qa")[0][0] == \
        _sql(settings, "SELECT count(*) FROM enhanced_qa WHERE selected")[0][0]
    assert _sql(settings, "SELECT count(*) FROM linkqa_dataset WHERE verdict <> 'agrees'")[0][0] == 0
    # the verifier is the judge's model: the judge's solves are its first answers, and it asks
    # only the rest of its k (no item gets more than k answers, none is asked twice)
    k = settings.synthesis.verifier_samples
    answers = _sql(settings, f"""
        SELECT v.qa_id, v.verifier_answers, list_slice(v.judge_answers, 1, {k}) AS judged,
               (SELECT count(*) FROM llm_usage u WHERE u.stage = 'answer_verification'
                AND split_part(u.item_id, '#', 1) = v.qa_id) AS asked
        FROM verified_qa v""")
    assert answers and all(given[:len(judged)] == judged and len(given) == len(judged) + asked <= k
                           for _, given, judged, asked in answers), answers
    assert any(judged for _, _, judged, _ in answers)
    # the release holds no cell above its target (the plan's first-round paths split by the
    # target distribution and each discipline's mix), and what was over is in dataset_drops;
    # the further rounds walked are in the plan, each with the paths the release asked for
    params = json.loads(_sql(settings, "SELECT walk_params FROM walk_plan LIMIT 1")[0][0])
    mixes = {d: mix_for(d, settings.synthesis.difficulty_mix, settings.synthesis.difficulty_mix_by_discipline)
             for d in params["available"]}
    targets = cell_targets(sum(plan_quotas(params).values()), settings.walk.target_distribution, params["available"],
                           mixes)
    cells = _sql(settings, "SELECT discipline, difficulty, count(*) FROM linkqa_dataset GROUP BY ALL")
    assert all(n <= targets.get((d, level), 0) for d, level, n in cells), (cells, targets)
    full = _sql(settings, "SELECT count(*) FROM dataset_drops WHERE reason = 'cell_full'")[0][0]
    assert release.height + full <= _sql(settings, "SELECT count(*) FROM verified_qa")[0][0]
    # the round limit `linksyn run` passed as run config is the plan's, and bounds the rounds
    assert params["max_rounds"] == settings.release.max_rounds
    assert params["rounds"] == summary.rounds and len(summary.rounds) <= params["max_rounds"]
    per_round = dict(_sql(settings, 'SELECT "round", count(*) FROM walk_plan GROUP BY ALL'))
    assert per_round[0] == sum(plan_quotas(params).values())
    for number, request in enumerate(summary.rounds, start=1):
        asked = sum(sum(levels.values()) for levels in request.values())
        assert 0 < per_round.get(number, 0) <= asked
    assert summary.shortfall_items == sum(max(0, t - dict(((d, lv), n) for d, lv, n in cells).get(c, 0))
                                          for c, t in targets.items())

    # tokens and cost: every answer behind the data is accounted per discipline and per path
    usage_total = _sql(settings, "SELECT sum(prompt_tokens * 0.5e-6 + completion_tokens * 2e-6), sum(cost_usd) "
                                 "FROM llm_usage")[0]
    assert usage_total[1] > 0 and usage_total[1] == pytest.approx(usage_total[0], rel=1e-6)
    qa_cost = _sql(settings, "SELECT sum(cost_usd) FROM synthesized_qa")[0][0]
    assert _sql(settings, "SELECT sum(cost_usd) FROM llm_usage WHERE stage = 'qa_synthesis'")[0][0] == \
        pytest.approx(qa_cost, rel=1e-9)
    unpriced_paths = _sql(settings, """
        SELECT count(*) FROM synthesized_qa q LEFT JOIN (SELECT path_id, sum(cost_usd) AS c FROM llm_usage
        WHERE path_id IS NOT NULL GROUP BY path_id) u USING (path_id) WHERE u.c IS NULL OR u.c < q.cost_usd""")[0][0]
    assert unpriced_paths == 0  # each path carries at least its synthesis cost (plus judging/rewrites)
    seed_disciplines = {r[0] for r in _sql(settings, "SELECT DISTINCT discipline FROM seed_qa")}
    usage_disciplines = {r[0] for r in _sql(settings, "SELECT DISTINCT discipline FROM llm_usage")}
    assert seed_disciplines <= usage_disciplines
    report_text = report.read_text()
    assert "## Tokens and cost by discipline" in report_text and "## Tokens and cost per path" in report_text
    assert summary_json["total_cost_usd"] == pytest.approx(usage_total[1], abs=1e-6)

    # kp_paths walked the graph as CSR arrays cached under the current graph version only
    version = neo4j_driver.execute_query("MATCH (m:GraphMeta) RETURN m.version AS v").records[0]["v"]
    assert [p.name for p in (settings.data_dir / "csr_cache").iterdir()] == [f"kp_graph-{version}-f1.npz"]

    # the side tables are assets: their materializations count the rows they hold
    reported = side_tables_match_their_materializations(settings)
    assert reported["llm_usage/synthesized_qa"] == _sql(settings, "SELECT count(DISTINCT path_id) "
                                                                  "FROM synthesized_qa")[0][0]
    assert reported["decontamination_hits/seed_qa"] == 1 and reported["seed_kp_links"] > 0

    # re-running without changes asks the model nothing and changes no count
    counts = _table_counts(settings)
    paid = llm_server.stats()["successes"]
    run_pipeline(load_settings(), say=lambda _: None)
    assert llm_server.stats()["successes"] == paid
    assert _table_counts(settings) == counts


def test_real_seed_files_load_with_disciplines_and_rejects(pipeline_settings, tmp_path, monkeypatch):
    """MMLU- and CMMLU-format files the project has never seen, plus a malformed file."""
    seeds_dir = tmp_path / "seeds"
    seeds_dir.mkdir()
    chosen = ["mmlu/dev/high_school_physics_dev.csv", "mmlu/dev/college_biology_dev.csv",
              "mmlu/dev/econometrics_dev.csv", "cmmlu/dev/high_school_chemistry.csv", "cmmlu/dev/jurisprudence.csv"]
    for relative in chosen:
        (seeds_dir / relative.rsplit("/", 1)[1]).symlink_to(SHARED_DATA / relative)
    (seeds_dir / "astronomy_dev.csv").write_bytes(
        b'"What is the closest star to Earth?",Sun,Sirius,Vega,Rigel,A\n'
        b'"Too few columns",A,B\n'
        b'"Answer outside the choices",A,B,C,D,F\n'
        b'"Bad bytes \xff\xfe here",A,B,C,D,B\n')
    monkeypatch.setenv("LINKSYN_SEEDS__SOURCE_DIR", str(seeds_dir))
    monkeypatch.setenv("LINKSYN_WALK__PATHS_TOTAL", "6")
    settings = load_settings()

    summary = run_pipeline(settings, say=lambda _: None)
    expected = {discipline_for_subject(s) for s in
                ["high_school_physics", "college_biology", "econometrics", "high_school_chemistry",
                 "jurisprudence", "astronomy"]}
    assert set(summary.seed_disciplines) == expected

    per_file = dict(_sql(settings, "SELECT source_file, count(*) FROM seed_qa GROUP BY 1"))
    assert sum(per_file.values()) == 5 + 5 + 5 + 5 + 5 + 1
    languages = dict(_sql(settings, "SELECT subject, any_value(language) FROM seed_qa GROUP BY 1"))
    assert languages["high_school_chemistry"] == "zh" and languages["high_school_physics"] == "en"
    rejects = _sql(settings, "SELECT source_line, reason FROM seed_rejects WHERE source_file LIKE '%astronomy_dev.csv' "
                             "ORDER BY source_line")
    assert [line for line, _ in rejects] == [2, 3, 4]
    assert all(reason for _, reason in rejects)
    assert _sql(settings, "SELECT count(*) FROM linkqa_dataset")[0][0] > 0


def test_a_second_pipeline_in_the_same_process_is_refused_at_once(tmp_path):
    """Two Dagster pipelines in two threads of one process deadlock in Python's logging
    locks; the second caller gets a clear error instead, before anything runs."""
    import threading

    from linksyn_dagster import pipeline
    from linksyn_dagster.settings import LinkSynSettings

    settings = LinkSynSettings(data_dir=tmp_path / "data")
    assert pipeline._ONE_PIPELINE.acquire(blocking=False)  # as a pipeline running in another thread holds it
    errors: list[Exception] = []
    try:
        def second() -> None:
            try:
                pipeline.run_pipeline(settings, say=lambda _: None)
            except Exception as exc:  # noqa: BLE001 (collected for the assertion)
                errors.append(exc)

        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive()
    finally:
        pipeline._ONE_PIPELINE.release()
    assert len(errors) == 1 and isinstance(errors[0], pipeline.PipelineFailed)
    assert "another pipeline is running in this process" in str(errors[0])
    assert not (tmp_path / "data").exists()  # refused before touching anything


def test_a_backfill_of_every_discipline_loads_the_seeds_in_one_run(pipeline_settings):
    """seed_qa's backfill policy is a single run: a backfill of all partitions (what the
    UI's "Launch backfill" and `dagster asset materialize` of a range send) is one run
    that stores every discipline's seeds and marks each partition materialized."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from linksyn_dagster.core.seed_cache import CACHE_DIR, cached_seed_load
    from linksyn_dagster.core.seeds import demo_seed_dir
    from linksyn_dagster.core.taxonomy import DISCIPLINES
    from linksyn_dagster.definitions import defs
    from linksyn_dagster.pipeline import prepare_instance

    settings = load_settings()
    assert defs().resolve_assets_def("seed_qa").backfill_policy == dg.BackfillPolicy.single_run()
    instance = prepare_instance(settings)
    job = defs().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("seed_qa")],
        tags={ASSET_PARTITION_RANGE_START_TAG: DISCIPLINES[0], ASSET_PARTITION_RANGE_END_TAG: DISCIPLINES[-1]})
    assert result.success
    assert len(instance.get_run_records()) == 1

    loaded = cached_seed_load(demo_seed_dir(), settings.seeds.max_field_chars, settings.data_dir / CACHE_DIR)
    expected = {d: loaded.seeds(d).height for d in DISCIPLINES}
    stored = dict(_sql(settings, "SELECT discipline, count(*) FROM seed_qa GROUP BY 1"))
    assert stored == {d: n for d, n in expected.items() if n > 0}
    materialized = instance.get_materialized_partitions(dg.AssetKey("seed_qa"))
    assert materialized == set(DISCIPLINES)
    # the warning check names the disciplines the demo seeds do not cover
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "seeds_present")
    without = [d for d in DISCIPLINES if expected[d] == 0]  # in taxonomy order
    assert check.passed == (not without)
    assert check.metadata["without_seeds"].value == (", ".join(without) or "none")
