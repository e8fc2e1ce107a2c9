"""The Dagster UI and Neo4j Browser as a person meets them: Debian's Chromium driven by
Playwright against `linksyn ui` (dagster dev), the session's real Neo4j and the scripted LLM.

Screenshots of every step land in ``test-artifacts/ui/`` (gitignored). With
``LINKSYN_UI_DOCS=1`` the README's screenshots in ``docs/ui/`` are refreshed from the same run.
"""

from __future__ import annotations

import datetime

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import httpx
import neo4j
import polars as pl
import pytest

from linksyn_dagster.core.graph_load import SEED_COLUMNS, GraphTables, diff
from linksyn_dagster.core.graph_style import STYLE_VERSION, band_label, discipline_label, grass
from linksyn_dagster.core.taxonomy import DISCIPLINES
from linksyn_dagster.queries import cypher
from linksyn_dagster.resources.graph_loader import GraphLoader
from linksyn_dagster.services.neo4j_server import LocalNeo4j
from linksyn_dagster.services.process import descendants, free_port, stop_process_group
from linksyn_dagster_tests.conftest import PROJECT_ROOT
from linksyn_dagster_tests.fixtures_neo4j import make_local_neo4j

pytestmark = pytest.mark.slow

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "ui"
DOCS_SHOTS = PROJECT_ROOT / "docs" / "ui"
VIEWPORT = {"width": 1280, "height": 800}
# waits are generous: a run is a fresh process (Dagster and litellm imports) on 2 busy cores
RUN_TIMEOUT_MS = 240_000

TABLE_ASSETS = {"seed_qa", "seed_kps", "knowledge_points", "walk_plan", "kp_paths", "synthesized_qa", "enhanced_qa",
                "verified_qa", "linkqa_dataset",
                # side tables the demo run fills (with at least three columns)
                "kp_cooccurrence", "llm_usage/seed_kps", "dataset_drops"}


def shot(page, name: str, docs_name: str | None = None, clip: dict | None = None) -> None:
    """Screenshot (of the ``clip`` rectangle, else the viewport) as a test artifact, and as a
    README image when LINKSYN_UI_DOCS=1."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", clip=clip)  # no half-faded dialogs
    if docs_name and os.environ.get("LINKSYN_UI_DOCS") == "1":
        from PIL import Image  # through matplotlib

        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:  # 64-colour palette: a small committed image
            image.convert("RGB").quantize(colors=64).save(DOCS_SHOTS / f"{docs_name}.png", optimize=True)


@pytest.fixture()
def chromium() -> Iterator:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test-deps` installs Debian's chromium", pytrace=False)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open_page(chromium, **context_options):
    """A page in a new browser context (``context_options``: Playwright's, viewport first)."""
    context = chromium.new_context(**{"viewport": VIEWPORT, **context_options})
    # Dagster's one-off "Join the community" dialog on loopback: marked as seen, as after its
    # first "Skip" (and dismissed anyway should a later version show it again)
    context.add_init_script("window.localStorage.setItem('communityNux', '1')")
    page = context.new_page()
    page.set_default_timeout(60_000)
    # assertions wait as long as actions: Playwright's expect() waits 5 s by default, less than
    # Neo4j Browser took on a busy CI machine to list the databases after connecting (the
    # "neo4j$" prompt appears only then), while the "Connected to Neo4j" frame was already shown
    playwright_api.expect.set_options(timeout=60_000)
    page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda button: button.click())
    return page


@pytest.fixture()
def browser_page(chromium):
    page = _open_page(chromium)
    yield page
    page.context.close()


class DagsterUI(NamedTuple):
    base: str  # the UI's address
    pid: int  # the `linksyn ui` process (`dagster dev` and its daemon below it)
    log: Path  # what its processes print


@pytest.fixture()
def dagster_ui(pipeline_settings, tmp_path) -> Iterator[DagsterUI]:
    """`linksyn ui` on a free loopback port, with the pipeline's environment (temp data dir
    and Dagster instance, the session's Neo4j, the scripted LLM)."""
    port = free_port()
    # in the test's temp dir (kept by pytest), not beside the data dir: that is the tmpfs's top
    log = open(tmp_path / "dagster_ui.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "linksyn_dagster.cli", "ui", "--port", str(port)],
                            cwd=PROJECT_ROOT, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                                                     # the automation sensor every 5 s, not 30: each of
                                                     # the automation step's three waits for a tick is short
                                                     "LINKSYN_AUTOMATION_INTERVAL_S": "5",
                                                     # a process killed by SIGABRT prints every thread's
                                                     # stack to the log (_daemon_stacks)
                                                     "PYTHONFAULTHANDLER": "1"},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"dagster dev exited: {_tail(log.name)}"
            try:
                reply = httpx.post(f"{base}/graphql", json={"query": "{ assetNodes { id } }"}, timeout=10)
                if reply.status_code == 200 and reply.json().get("data", {}).get("assetNodes"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the UI did not answer within 180 s: {_tail(log.name)}"
            time.sleep(1)
        yield DagsterUI(base, proc.pid, Path(log.name))
    finally:
        stop_process_group(proc)
        log.close()


def _tail(path: str, lines: int = 20) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def _lineage() -> dict[str, dict]:
    """Group, parents and children of every asset, from the project's own definitions; the
    neighbours named as the UI shows a key (``llm_usage / seed_kps``)."""
    from linksyn_dagster.definitions import defs

    graph = defs().resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        out[key.to_user_string()] = {
            "group": node.group_name,
            "description": node.description or "",
            "upstream": sorted(" / ".join(k.path) for k in node.parent_keys),
            "downstream": sorted(" / ".join(k.path) for k in node.child_keys),
        }
    return out


def _assets_per_group(page, groups: set[str]) -> dict[str, set[str]]:
    """Each group's assets as the lineage page's tree lists them (by the last part of their
    key), its groups opened by their carets. The tree draws only the rows in view, so the page
    is made tall enough for every group's rows first."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], 2400)})
    for group in sorted(groups):
        box = page.get_by_role("button", name=group).first.bounding_box()
        page.mouse.click(box["x"] - 12, box["y"] + box["height"] / 2)
    page.get_by_text("knowledge_points").first.wait_for()
    text = page.inner_text("body").split("Reload definitions", 1)[1].split("Search and filter", 1)[0]
    listed: dict[str, set[str]] = {}
    current = None
    for line in (line.strip() for line in text.splitlines() if line.strip()):
        if line in groups:
            current = line
        elif current:
            listed.setdefault(current, set()).add(line)
    page.set_viewport_size(size)
    return listed


# Dagster UI settings the asset-graph shots use (what its graph menus store in the browser):
# nodes that show their name and description (a side table's node is named by the last part
# of its key, so `llm_usage/seed_kps` reads "seed_kps": its description tells it apart)
GRAPH_FACETS = '["description"]'
GRAPH_VIEWPORT = {"width": 2200, "height": 1200}  # the largest group (knowledge: 1,660 px wide) fits at zoom 1
GRAPH_SCALE = 2  # device pixels per CSS pixel: sharp when GitHub shrinks the image to its column


def _shoot_asset_graph(chromium, base: str, lineage: dict[str, dict]) -> None:
    """The asset graph as README images that stay legible in a page column: the groups and
    how they feed each other (vertical), then each group's assets (its selection
    ``group:<name>``), each cut to the graph at zoom 1. Every shot first shows exactly the
    nodes it should."""
    context = chromium.new_context(viewport=GRAPH_VIEWPORT, device_scale_factor=GRAPH_SCALE)
    context.add_init_script("window.localStorage.setItem('communityNux', '1');"
                            "window.localStorage.setItem('dagster-nav-collapsed', 'true');"
                            f"window.localStorage.setItem('asset-node-facets', '{GRAPH_FACETS}')")
    page = context.new_page()
    page.set_default_timeout(60_000)
    groups = sorted({info["group"] for info in lineage.values()})
    try:
        page.goto(f"{base}/asset-groups", wait_until="domcontentloaded")
        page.evaluate("localStorage.setItem('asset-graph-direction', '\"vertical\"')")
        page.reload(wait_until="networkidle")
        nodes = page.locator("svg foreignObject").filter(has_text=re.compile(r"\S"))
        playwright_api.expect(nodes).to_have_count(len(groups))
        playwright_api.expect(page.get_by_text("fetching statuses")).to_have_count(0)
        texts = nodes.all_text_contents()  # a group's name, then its assets' statuses
        assert sorted(group for text in texts for group in groups if text.startswith(group)) == groups, texts
        shot(page, "01-asset-graph-groups", docs_name="asset-graph", clip=_graph_box(page))

        page.evaluate("localStorage.setItem('asset-graph-direction', '\"horizontal\"')")
        for group in groups:
            page.goto(f"{base}/asset-groups~group%3A{group}/", wait_until="networkidle")
            assets = {name: info for name, info in lineage.items() if info["group"] == group}
            names = page.locator("svg foreignObject [data-tooltip]")  # each node's name
            playwright_api.expect(names).to_have_count(len(assets))
            assert sorted(names.all_inner_texts()) == sorted(name.split("/")[-1] for name in assets), group
            text = " ".join(" ".join(page.locator("svg foreignObject").all_text_contents()).split())
            for name, info in assets.items():  # the description facet is on
                assert " ".join(info["description"].split())[:20] in text, f"{name}: no description in {text}"
            shot(page, f"01-asset-graph-{group}", docs_name=f"asset-graph-{group}", clip=_graph_box(page))
    finally:
        context.close()


def _graph_box(page, pad: int = 24) -> dict:
    """The rectangle around the asset graph's nodes (``pad`` pixels more on each side), once
    the canvas has stopped fitting the graph; the graph must be drawn at zoom 1 (not shrunk
    to the canvas) and the rectangle lie within the canvas."""
    graph = page.locator("svg:has(foreignObject)").first
    box = None
    for _ in range(40):
        page.wait_for_timeout(250)
        now = graph.bounding_box()
        if now == box:
            break
        box = now
    size = graph.evaluate("svg => [svg.width.baseVal.value, svg.height.baseVal.value]")
    assert abs(box["width"] - size[0]) < 1 and abs(box["height"] - size[1]) < 1, f"zoomed: {box} for {size}"
    left, top, right, bottom = graph.evaluate("""svg => {
        const rects = [...svg.querySelectorAll('foreignObject')].map(node => node.getBoundingClientRect());
        return [Math.min(...rects.map(r => r.left)), Math.min(...rects.map(r => r.top)),
                Math.max(...rects.map(r => r.right)), Math.max(...rects.map(r => r.bottom))];
    }""")
    clip = {"x": left - pad, "y": top - pad, "width": right - left + 2 * pad, "height": bottom - top + 2 * pad}
    canvas = graph.locator("xpath=../..").bounding_box()
    assert canvas["x"] <= clip["x"] and clip["x"] + clip["width"] <= canvas["x"] + canvas["width"] \
        and canvas["y"] <= clip["y"] and clip["y"] + clip["height"] <= canvas["y"] + canvas["height"], (clip, canvas)
    return clip


def _section(text: str, start: str, end: str) -> list[str]:
    """The distinct non-empty lines between two headings of an asset page's text."""
    body = text.split(start, 1)[1].split(end, 1)[0]
    return sorted({line.strip() for line in body.splitlines() if line.strip()})


def _launch_one_partition(page, base: str, asset: str, partition: str) -> None:
    """Asset page → Materialize… → Custom → just ``partition`` → Launch 1 run → the run
    page, until the run shows Success."""
    page.goto(f"{base}/assets/{asset}?view=partitions", wait_until="networkidle")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Custom", exact=True).click()
    dialog.get_by_text(re.compile(r"^\d+ partitions selected$")).click()
    page.get_by_text(f"Select all ({len(DISCIPLINES)})").click()  # clears the selection
    page.get_by_text(partition, exact=True).filter(visible=True).last.click()
    page.keyboard.press("Escape")
    playwright_api.expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    shot(page, f"launch-{asset}-{partition}")
    dialog.get_by_role("button", name="Launch 1 run").click()
    toast = page.get_by_text(re.compile(r"^Launched run \w+"))
    playwright_api.expect(toast).to_be_visible()
    page.get_by_role("link", name="View").or_(page.get_by_role("button", name="View")).first.click()
    playwright_api.expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+"))
    playwright_api.expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    shot(page, f"run-{asset}-{partition}")


def _partition_counts(page) -> dict[str, int]:
    text = page.inner_text("body")
    return {state: int(n) for state, n in re.findall(r"(Failed|Materialized|Materializing|Missing) \((\d+)\)", text)}


def test_dagster_ui_lineage_partition_runs_and_backfill(dagster_ui, browser_page, chromium, llm_server,
                                                        pipeline_settings):
    page, base = browser_page, dagster_ui.base
    lineage = _lineage()
    assert len(lineage) == 29  # 11 stages and 18 side tables

    # 1. the asset graph: every group in it, every asset inside its group (the graph's tree:
    # expanded, the 29 assets do not fit the canvas); only the 11 stages are materializable
    page.goto(f"{base}/asset-groups", wait_until="networkidle")
    page.get_by_role("button", name="Materialize all (11)…").wait_for()
    page.locator("svg foreignObject").first.wait_for()
    labels = [t.strip() for t in page.locator("svg foreignObject").all_text_contents() if t.strip()]
    groups = {info["group"] for info in lineage.values()}
    assert groups <= set(labels), f"groups {groups} not all in the asset graph: {labels}"
    shot(page, "01-asset-graph")
    listed = _assets_per_group(page, groups)
    for name, info in lineage.items():
        assert name.split("/")[-1] in listed.get(info["group"], set()), f"{name} not in group {info['group']}: {listed}"
    _shoot_asset_graph(chromium, base, lineage)

    # 2. every asset page: description, group and lineage edges as the definitions say
    for name, info in lineage.items():
        page.goto(f"{base}/assets/{name}", wait_until="networkidle")
        page.get_by_text("Upstream assets").or_(page.get_by_text("Downstream assets")).first.wait_for()
        page.get_by_text("Code location").wait_for()
        text = page.inner_text("body")
        assert "Description" in text and "No description" not in text, name
        assert _section(text, "Definition", "Code location") == sorted({"Group", info["group"]}), name
        # the Lineage box lists each neighbour (name and link); "–" when there is none
        assert _section(text, "Upstream assets", "Downstream assets") == (info["upstream"] or ["–"]), name
        assert _section(text, "Downstream assets", "Definition") == (info["downstream"] or ["–"]), name

    # 3. seed_qa lists every discipline partition
    page.goto(f"{base}/assets/seed_qa?view=partitions", wait_until="networkidle")
    playwright_api.expect(page.get_by_text(f"{len(DISCIPLINES)} Partitions Selected")).to_be_visible()
    for discipline in DISCIPLINES:
        playwright_api.expect(page.get_by_text(discipline, exact=True).filter(visible=True).first).to_be_visible()
    shot(page, "02-seed-qa-partitions")

    # 4. one discipline partition materialized by clicks: seeds, then KP extraction (LLM)
    _launch_one_partition(page, base, "seed_qa", "physics")
    paid_before = llm_server.stats()["successes"]
    _launch_one_partition(page, base, "seed_kps", "physics")
    assert llm_server.stats()["successes"] > paid_before  # the run asked the scripted model over HTTP
    page.goto(f"{base}/assets/seed_kps?view=partitions", wait_until="networkidle")
    playwright_api.expect(page.get_by_text("Materialized (1)")).to_be_visible()

    # 5. a backfill of all discipline partitions from the asset page
    page.goto(f"{base}/assets/seed_qa?view=partitions", wait_until="networkidle")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("All", exact=True).click()
    playwright_api.expect(dialog.get_by_text(f"{len(DISCIPLINES)} partitions", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Launch backfill").click()
    playwright_api.expect(page.get_by_text(re.compile(r"^Created backfill \w+")).first).to_be_visible()
    deadline, counts = time.monotonic() + 600, {}
    while time.monotonic() < deadline:
        page.reload(wait_until="networkidle")
        page.get_by_text(re.compile(r"Materialized \(\d+\)")).wait_for()
        counts = _partition_counts(page)
        assert counts.get("Failed", 0) == 0, counts
        if counts.get("Materialized") == len(DISCIPLINES):
            break
        page.wait_for_timeout(5000)
    assert counts.get("Materialized") == len(DISCIPLINES) and counts.get("Missing") == 0, counts
    shot(page, "03-seed-qa-backfilled", docs_name="partitions")
    page.goto(f"{base}/overview/backfills", wait_until="networkidle")  # the instance's only backfill
    playwright_api.expect(page.locator("a[href^='/runs/b/']").first).to_be_visible()
    playwright_api.expect(page.get_by_role("button", name=f"{len(DISCIPLINES)} partitions")).to_be_visible()
    playwright_api.expect(page.get_by_text(re.compile(r"^Success")).first).to_be_visible(timeout=60_000)
    shot(page, "04-backfills")
    # seed_qa's backfill policy: the whole backfill was one run, over every partition
    with dg.DagsterInstance.from_config(str(pipeline_settings.dagster_home)) as instance:
        (backfill,) = instance.get_backfills()
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        assert len(runs) == 1, [r.tags for r in runs]
        assert runs[0].tags.get("dagster/asset_partition_range_start") == DISCIPLINES[0]
        assert runs[0].tags.get("dagster/asset_partition_range_end") == DISCIPLINES[-1]

    # 6. automation: the sensor turned on in the UI; new seeds in physics (a click) are followed,
    #    without another click, by their KP extraction, then the graph and the walk plan in one
    #    run, each launched by the sensor in dependency order. The sensor is turned off again
    #    once the graph run is under way (the path stages of every discipline would follow).
    started = time.time()
    _toggle_sensor(page, base, "linksyn_automation", on=True)
    _wait_for_tick(dagster_ui, "linksyn_automation", started)  # its first tick marks what was before as seen
    _launch_one_partition(page, base, "seed_qa", "physics")
    with dg.DagsterInstance.from_config(str(pipeline_settings.dagster_home)) as instance:
        extraction = _automation_run(instance, {"seed_kps"}, started)
        assert extraction.tags.get("dagster/partition") == "physics"
        graph = _automation_run(instance, {"knowledge_points", "kp_graph", "walk_plan"}, started)
        # the graph run's page while it runs: its steps and their log lines, live
        page.goto(f"{base}/runs/{graph.run_id}", wait_until="networkidle")
        playwright_api.expect(page.get_by_text("kp_graph").first).to_be_visible()
        shot(page, "05-run-in-progress", docs_name="run-in-progress")
        _toggle_sensor(page, base, "linksyn_automation", on=False)
        graph = _run_ended(instance, graph.run_id)
        extraction = instance.get_run_by_id(extraction.run_id)
        assert extraction.status == dg.DagsterRunStatus.SUCCESS and graph.status == dg.DagsterRunStatus.SUCCESS
        first = instance.get_run_record_by_id(extraction.run_id)
        second = instance.get_run_record_by_id(graph.run_id)
        assert first.end_time <= second.create_timestamp.timestamp()  # the graph waited for the KPs
    page.goto(f"{base}/runs", wait_until="networkidle")  # the two runs, tagged as the sensor's
    playwright_api.expect(page.get_by_text(graph.run_id[:8]).first).to_be_visible()
    shot(page, "05-automation-runs")


def _toggle_sensor(page, base: str, name: str, on: bool) -> None:
    """Automation page → the sensor's switch, until the UI shows it in the wanted state."""
    page.goto(f"{base}/automation", wait_until="networkidle")
    row = page.get_by_text(name, exact=True).locator("xpath=ancestor::div[.//input[@type='checkbox']][1]")
    switch = row.locator("input[type=checkbox]").last
    if switch.is_checked() != on:
        switch.locator("xpath=..").click()  # the styled label; the input itself is hidden
    playwright_api.expect(switch).to_be_checked(checked=on)


def _wait_for_tick(ui: DagsterUI, sensor: str, after: float) -> None:
    """Until the daemon has evaluated ``sensor`` once since ``after`` (through the GraphQL API).
    If it has not within 120 s, the failure says what the UI knows (the sensor's state, its
    last ticks, the daemons' health) and the daemon's threads."""
    query = ('{ sensorOrError(sensorSelector: {repositoryName: "__repository__", repositoryLocationName: '
             f'"linksyn", sensorName: "{sensor}"}}) {{ ... on Sensor {{ sensorState {{ status ticks(limit: 3) '
             '{ status timestamp error { message } } } } } '
             'instance { daemonHealth { allDaemonStatuses { daemonType healthy lastHeartbeatTime '
             'lastHeartbeatErrors { message } } } } }')
    deadline = time.monotonic() + 120
    while True:
        reply = httpx.post(f"{ui.base}/graphql", json={"query": query}, timeout=10).json()["data"]
        ticks = reply["sensorOrError"]["sensorState"]["ticks"]
        if ticks and ticks[0]["timestamp"] > after and ticks[0]["status"] in ("SUCCESS", "SKIPPED"):
            return
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    stacks = _daemon_stacks(ui)
    raise AssertionError(f"{sensor} did not tick within 120 s of being turned on (at {after:.1f}): "
                         f"sensor state {reply['sensorOrError']['sensorState']}; daemons "
                         f"{reply['instance']['daemonHealth']['allDaemonStatuses']}; the daemon's threads: {stacks}")


def _daemon_stacks(ui: DagsterUI) -> str:
    """SIGABRT to the UI's daemon process (the ``dagster._daemon run`` below `dagster dev`):
    with PYTHONFAULTHANDLER set, it prints every thread's Python stack to the UI's log as it
    dies. What the stacks say, or why none."""
    for pid in descendants(ui.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"dagster._daemon" in argv:
            os.kill(pid, signal.SIGABRT)
            break
    else:
        return "(no daemon process of this UI)"
    time.sleep(5)
    text = ui.log.read_text(errors="replace")
    start = text.rfind("Fatal Python error")
    return text[start:start + 30_000] if start >= 0 else "(no stacks in the log)"


def _automation_run(instance: dg.DagsterInstance, assets: set[str], after: float) -> dg.DagsterRun:
    """The first run the automation sensor launched for exactly ``assets`` after ``after``."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for record in instance.get_run_records(filters=dg.RunsFilter(
                tags={"dagster/from_automation_condition": "true"}, created_after=datetime.datetime.fromtimestamp(
                    after, tz=datetime.timezone.utc))):
            run = record.dagster_run
            if {key.to_user_string() for key in run.asset_selection or ()} == assets:
                return run
        time.sleep(1)
    raise AssertionError(f"the automation sensor launched no run of {sorted(assets)}")


def _run_ended(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun:
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.is_finished:
            return run
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not end")


@pytest.fixture()
def pipeline_run(pipeline_settings) -> None:
    """The whole pipeline, as `linksyn run` does it (before the browser starts: Playwright's
    sync API holds the thread's event loop, which the LLM client needs)."""
    from linksyn_dagster.pipeline import run_pipeline

    run_pipeline(pipeline_settings, say=lambda _: None)


def test_dagster_ui_asset_pages_and_report_after_a_run(pipeline_run, pipeline_settings, dagster_ui, browser_page):
    """After a run of the whole pipeline, the pages users read: row counts, column schemas
    and previews of every table asset, kp_graph's Cypher, the report and its charts."""
    page, base = browser_page, dagster_ui.base
    for name in sorted(TABLE_ASSETS):
        page.goto(f"{base}/assets/{name}", wait_until="networkidle")
        page.get_by_text("Columns", exact=True).first.wait_for()
        assert "Row count" in page.inner_text("body"), name
        schema = page.locator("table").filter(has_text="Column name").first
        names = [t.strip() for t in schema.locator("tbody tr td:first-child").all_inner_texts() if t.strip()]
        assert len(names) >= 3, f"{name}: column schema {names}"
        # the markdown preview renders as a table whose headers are some of those columns
        headers = {t.strip() for t in page.locator("th").all_inner_texts()}
        assert len(headers & set(names)) >= 2, f"{name}: no preview table among headers {sorted(headers)}"
    shot(page, "05-linkqa-dataset")

    page.goto(f"{base}/assets/kp_graph", wait_until="networkidle")
    queries = _open_markdown(page, "browser_queries")  # every example query: longer than Dagster shows in place
    playwright_api.expect(queries).to_contain_text("Paste into Neo4j Browser")
    playwright_api.expect(queries).to_contain_text("MATCH (k:KnowledgePoint)-[e:CO_OCCURS]-(n:KnowledgePoint)")
    shot(page, "06-kp-graph-cypher")
    queries.get_by_role("button", name="Close").click()
    playwright_api.expect(queries).to_have_count(0)

    page.goto(f"{base}/assets/distribution_report", wait_until="networkidle")
    dialog = _open_markdown(page, "report")
    for heading in ("Tokens and cost by discipline", "Tokens and cost per path"):
        playwright_api.expect(dialog.get_by_role("heading", name=heading)).to_be_visible()
    shot(page, "07-distribution-report")
    dialog.get_by_role("button", name="Close").click()
    playwright_api.expect(dialog).to_have_count(0)
    # the items to look at, on the asset page: a few per discipline, each with its KP chain
    dialog = _open_markdown(page, "items_to_look_at")
    playwright_api.expect(dialog.get_by_role("heading", name="Items to look at")).to_be_visible()
    playwright_api.expect(dialog.get_by_text("KP chain").first).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    playwright_api.expect(dialog).to_have_count(0)
    # the HTML report's items: each with its KP chain drawn as boxes and its seeds' file:line
    page.goto((pipeline_settings.data_dir / "reports" / "distribution_report.html").as_uri(), wait_until="load")
    items = page.locator("article.item")
    assert items.count() >= 6, items.count()
    first = items.first
    assert first.locator(".chain .kp").count() >= 2 and first.locator("li.key").count() == 1
    assert all(re.search(r":\d+$", where) for where in first.locator(".seeds .where").all_inner_texts())
    # CMMLU items are Chinese: drawn with a CJK font (fonts-noto-cjk), not as empty boxes
    assert _draws_cjk(first), "Chromium draws Chinese as boxes: install fonts-noto-cjk (make test-deps)"
    group = page.locator(".discipline-items").first
    group.evaluate("element => element.scrollIntoView()")  # its top at the viewport's top
    box = group.bounding_box()
    shot(page, "07-report-items", docs_name="report-items",
         clip={**box, "y": max(0, box["y"]), "height": min(box["height"], VIEWPORT["height"] - max(0, box["y"]))})
    page.goto(f"{base}/assets/distribution_report", wait_until="networkidle")
    for chart in ("disciplines", "difficulty", "kp_usage", "kp_coverage", "cost"):
        dialog = _open_markdown(page, f"chart/{chart}")
        image = dialog.locator("img[src^='data:image/png']")
        playwright_api.expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 100"), f"chart {chart} did not load"
        shot(page, f"08-chart-{chart}", docs_name="report" if chart == "disciplines" else None)
        dialog.get_by_role("button", name="Close").click()
        playwright_api.expect(dialog).to_have_count(0)


def _draws_cjk(element) -> bool:
    """Whether the browser has glyphs for Chinese in ``element``'s font: two different
    characters drawn on a canvas differ (with no CJK font both are the same .notdef box)."""
    return element.evaluate("""element => {
        const font = getComputedStyle(element).font.replace(/[\\d.]+px/, '48px');
        const draw = text => {
            const canvas = document.createElement('canvas');
            canvas.width = canvas.height = 64;
            const context = canvas.getContext('2d');
            context.font = font;
            context.fillText(text, 4, 52);
            return canvas.toDataURL();
        };
        return draw('中') !== draw('国');
    }""")


def _metadata_row(page, key: str):
    """The asset page's metadata row of ``key``."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True)).first


def _open_markdown(page, key: str):
    """Metadata key ``key``'s long markdown, opened as a user does: its row's [Show Markdown]."""
    _metadata_row(page, key).get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog").filter(has=page.get_by_role("button", name="Close"))
    playwright_api.expect(dialog).to_have_count(1)
    return dialog


def _kp_graph_for_browser(driver) -> None:
    """Six KPs of two disciplines over four frequency bands, chained by CO_OCCURS edges,
    loaded as kp_graph loads them (with the labels the Browser style draws by)."""
    frequencies = [1, 2, 5, 20, 70, 300]
    disciplines = ["physics"] * 3 + ["biology"] * 3
    kps = pl.DataFrame({"kp_id": [f"kp{i}" for i in range(1, 7)], "name": [f"kp number {i}" for i in range(1, 7)],
                        "frequency": frequencies, "disciplines": [[d] for d in disciplines],
                        "primary_discipline": disciplines, "aliases": [[] for _ in disciplines]},
                       schema_overrides={"aliases": pl.List(pl.Utf8)})
    seeds = pl.DataFrame(schema={c: pl.Utf8 for c in SEED_COLUMNS})
    links = pl.DataFrame(schema={"seed_id": pl.Utf8, "kp_id": pl.Utf8})
    edges = pl.DataFrame({"kp_a": [f"kp{i}" for i in range(1, 6)], "kp_b": [f"kp{i}" for i in range(2, 7)],
                          "weight": [1, 2, 3, 4, 5]})
    GraphLoader(driver, "neo4j").load(diff(None, GraphTables(kps=kps, seeds=seeds, links=links, edges=edges)),
                                      "browser-test", full=True)


def _drawn_nodes(page) -> dict[str, tuple[str, str, float]]:
    """name -> (caption, fill colour, radius) of each node circle Browser drew (the name from
    the node's data bound to its SVG group; the caption as drawn: wrapped and cut to fit)."""
    drawn = page.locator("svg g.node").evaluate_all(
        "nodes => nodes.map(n => [n.__data__.propertyMap.name, n.querySelector('circle.b-outline'), n.textContent])"
        ".map(([name, c, text]) => [name, text, c.getAttribute('fill'), parseFloat(c.getAttribute('r'))])")
    return {name: (" ".join(text.split()), fill.upper(), radius) for name, text, fill, radius in drawn}


def _log_in(page, server: LocalNeo4j, login_shot: str | None = None) -> None:
    """Neo4j Browser of ``server``: its login form filled in (bolt, the server's address,
    user and password) and submitted, until the connected prompt shows."""
    page.goto(f"{server.http_url}/browser/", wait_until="networkidle")
    address = page.locator("input[data-testid=boltaddress]")
    address.wait_for()
    address.locator("xpath=preceding::select[1]").select_option("bolt://")
    address.fill(server.uri.removeprefix("bolt://"))
    page.locator("input[data-testid=username]").fill(server.user)
    page.locator("input[data-testid=password]").fill(server.password)
    if login_shot:
        shot(page, login_shot)
    page.locator("button[data-testid=connect]").click()
    playwright_api.expect(page.get_by_text(re.compile(r"^neo4j\$")).first).to_be_visible()  # the connected prompt


def test_neo4j_browser_runs_the_readme_query(browser_page, neo4j_server, neo4j_driver):
    """Neo4j Browser, served by the local server, logs in, applies the KP graph's style and
    opens the guide of the example queries on connecting; the guide's first query is the
    README's, and clicked in the guide it goes to the editor and runs there, showing KP nodes:
    captioned by name, coloured by discipline, sized by frequency band; no telemetry banner."""
    _kp_graph_for_browser(neo4j_driver)
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"```cypher\n(\s*MATCH \(k:KnowledgePoint\).*?)```", readme, re.S)
    assert block, "the README's example Cypher query is gone"
    query = "\n".join(line.strip() for line in block.group(1).strip().splitlines())
    page = browser_page
    _log_in(page, neo4j_server, login_shot="10-neo4j-browser-login")
    editor = page.locator("[data-testid=activeEditor] textarea").first
    # the guide the server serves beside Neo4j, played after the style: its first slide's query
    guide_query = page.locator("pre.runnable").first
    playwright_api.expect(page.get_by_role("heading", name=re.compile(r"^1\. The most popular"))).to_be_visible()
    assert " ".join(guide_query.inner_text().split()) == " ".join(query.split())
    shot(page, "10b-neo4j-browser-guide")
    guide_query.click(position={"x": 200, "y": 10})  # the block, not its play icon: into the editor
    playwright_api.expect(page.locator("[data-testid=activeEditor] .view-lines").first) \
        .to_contain_text("RETURN k, e, n LIMIT 50")
    editor.focus()
    page.keyboard.press("Control+Enter")
    label = page.locator("[data-testid=property-details-overview-node-label-KnowledgePoint]").first
    playwright_api.expect(label).to_have_text("KnowledgePoint (6)")
    playwright_api.expect(page.locator("[data-testid=property-details-overview-relationship-type-CO_OCCURS]").first) \
        .to_have_text("CO_OCCURS (5)")
    playwright_api.expect(page.locator("svg g.node")).to_have_count(6)  # drawn, one circle per KP
    # the style the server handed over on connecting: name captions, a colour per discipline,
    # a diameter per frequency band (frequencies 1, 2, 5, 20, 70, 300: bands 1, 1, 4, 16, 64, 256)
    sheet = grass()
    drawn = _drawn_nodes(page)
    names = [f"kp number {i}" for i in range(1, 7)]
    assert set(drawn) == set(names)
    assert drawn["kp number 6"][0] == "kp number 6"  # the largest circle has room for the whole name
    assert all(drawn[name][0].startswith("kp") for name in names)  # the others a cut of it
    physics, biology = (sheet[f"node.{discipline_label(d)}"]["color"].upper() for d in ("physics", "biology"))
    assert [drawn[name][1] for name in names] == [physics] * 3 + [biology] * 3
    radii = [drawn[name][2] for name in names]
    assert radii == [float(sheet[f"node.{band_label(f)}"]["diameter"].removesuffix("px")) / 2
                     for f in (1, 2, 5, 20, 70, 300)]
    assert radii[0] == radii[1] < radii[2] < radii[3] < radii[4] < radii[5]
    # the server allows no telemetry (client.allow_telemetry=false): no consent banner over the frames
    playwright_api.expect(page.get_by_text(re.compile("we collect information on product usage"))).to_have_count(0)
    shot(page, "11-neo4j-browser-graph")  # the README's image is of the demo's graph: the test below
    page.locator("[data-testid=cypherFrameSidebarTable]").first.click()
    playwright_api.expect(page.get_by_text("kp number 6").first).to_be_visible()
    shot(page, "12-neo4j-browser-table")


# The README's image of Neo4j Browser is taken on the KP graph a `make demo` built, not on the
# six KPs above: LINKSYN_UI_DOCS_DEMO_DATA names that run's data dir (LINKSYN_DATA_DIR)
DEMO_DATA_ENV = "LINKSYN_UI_DOCS_DEMO_DATA"
# the neighbourhoods of the demo graph's two most frequent KPs (about 25 KPs: readable in one frame)
DEMO_QUERY = """MATCH (k:KnowledgePoint) WITH k ORDER BY k.frequency DESC, k.name LIMIT 2
MATCH (k)-[e:CO_OCCURS]-(n:KnowledgePoint)
RETURN k, e, n"""


@pytest.fixture()
def demo_neo4j(tmp_path) -> Iterator[LocalNeo4j]:
    """A copy of the Neo4j home a `make demo` left (``$LINKSYN_UI_DOCS_DEMO_DATA/neo4j``:
    store, password), started on free ports; the demo's own files are only read."""
    data = os.environ.get(DEMO_DATA_ENV)
    if not data:
        pytest.skip(f"{DEMO_DATA_ENV} names no data dir of `make demo`")
    source = Path(data).expanduser().resolve() / "neo4j"
    if not (source / "data").is_dir() or not (source / "password").is_file():
        pytest.fail(f"{source} holds no Neo4j data and password of a `make demo`", pytrace=False)
    running = make_local_neo4j(source).status()["pid"]  # reads its pid file only
    if running is not None:
        pytest.fail(f"the demo's Neo4j (pid {running}) runs on {source}: its store is copied whole only when "
                    f"stopped (LINKSYN_DATA_DIR={data} linksyn neo4j stop)", pytrace=False)
    server = make_local_neo4j(tmp_path / "neo4j")
    shutil.copytree(source, server.home, ignore=shutil.ignore_patterns("*.pid", "run"))
    try:
        server.start(timeout=240)
        yield server
    finally:
        server.stop()


def test_neo4j_browser_on_the_demo_graph(chromium, demo_neo4j):
    """Neo4j Browser on the KP graph a `make demo` built (``LINKSYN_UI_DOCS_DEMO_DATA``; the
    test is skipped without it): the graph is labelled for the current style, and the two
    most frequent KPs' neighbourhoods are drawn whole in it (a fill per discipline, a radius per
    frequency band), several disciplines and bands at once. With LINKSYN_UI_DOCS=1 this is
    the README's image of Neo4j Browser: the result frame in full screen, zoomed to fit."""
    with neo4j.GraphDatabase.driver(demo_neo4j.uri, auth=(demo_neo4j.user, demo_neo4j.password)) as driver:
        (meta,) = driver.execute_query(cypher("graph_meta_get")).records
        rows = driver.execute_query(DEMO_QUERY).records
    assert meta["version"], "the demo's Neo4j holds no KP graph"
    assert meta["style"] == STYLE_VERSION, "the demo's KPs are labelled for another style: run `make demo` again"
    kps = {row[key]["name"]: row[key] for row in rows for key in ("k", "n")}
    page = _open_page(chromium, device_scale_factor=2)  # sharp when GitHub shrinks it to its column
    try:
        _log_in(page, demo_neo4j)
        page.locator("[data-testid=activeEditor] textarea").first.focus()
        page.keyboard.insert_text(DEMO_QUERY)
        page.keyboard.press("Control+Enter")
        frame = page.locator("article").filter(has=page.get_by_role("button", name="zoom-to-fit")).first
        playwright_api.expect(frame.locator("[data-testid=property-details-overview-node-label-KnowledgePoint]")) \
            .to_have_text(f"KnowledgePoint ({len(kps)})")
        playwright_api.expect(frame.locator("svg g.node")).to_have_count(len(kps))
        sheet = grass()
        drawn = _drawn_nodes(page)
        assert set(drawn) == set(kps)
        for name, kp in kps.items():
            style = {**sheet[f"node.{discipline_label(kp['primary_discipline'])}"],
                     **sheet[f"node.{band_label(kp['frequency'])}"]}
            assert drawn[name][1:] == (style["color"].upper(), float(style["diameter"].removesuffix("px")) / 2), name
        assert len({fill for _, fill, _ in drawn.values()}) >= 4 and len({r for _, _, r in drawn.values()}) >= 2
        frame.get_by_role("button", name="Fullscreen").click()
        _zoom_to_show_all(frame)
        shot(page, "13-neo4j-browser-demo-graph", docs_name="neo4j-browser", clip=frame.bounding_box())
    finally:
        page.context.close()


def _zoom_to_show_all(frame) -> None:
    """Once the layout has settled, the graph of a result ``frame`` zoomed to fit its canvas,
    then out until every node circle lies in the canvas left of the Overview panel (Browser
    fits the graph to the whole canvas, the panel over its right side)."""
    bounds = """frame => {
        const panel = [...frame.querySelectorAll('div')]  // the smallest box holding all its text
            .filter(e => e.textContent.startsWith('Overview') && e.textContent.includes('Displaying'))
            .map(e => e.getBoundingClientRect()).sort((a, b) => a.width * a.height - b.width * b.height)[0];
        const canvas = frame.querySelector('svg:has(g.node)').getBoundingClientRect();
        const circles = [...frame.querySelectorAll('svg g.node circle.b-outline')].map(c => c.getBoundingClientRect());
        const right = Math.min(canvas.right, panel.left);
        return [circles.map(c => [c.left, c.top, c.right, c.bottom]), [canvas.left, canvas.top, right, canvas.bottom]];
    }"""
    previous = None
    for _ in range(30):  # the force layout moves nodes for a few seconds
        frame.page.wait_for_timeout(500)
        circles = frame.evaluate(bounds)[0]
        if circles == previous:
            break
        previous = circles
    frame.get_by_role("button", name="zoom-to-fit").click()
    page = frame.page
    for _ in range(20):
        page.wait_for_timeout(1000)  # the zoom's transition
        circles, (left, top, right, bottom) = frame.evaluate(bounds)
        if all(left <= x0 and x1 <= right and top <= y0 and y1 <= bottom for x0, y0, x1, y1 in circles):
            return
        # out by a little (the zoom-out button's steps are coarse): Ctrl + the mouse wheel,
        # round the middle of the free canvas
        page.mouse.move((left + right) / 2, (top + bottom) / 2)
        page.keyboard.down("Control")
        page.mouse.wheel(0, 60)
        page.keyboard.up("Control")
    raise AssertionError(f"the graph does not fit left of the Overview panel: {circles} in {(left, top, right, bottom)}")
