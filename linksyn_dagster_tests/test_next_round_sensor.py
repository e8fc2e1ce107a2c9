"""Further rounds from the UI: the sensor on the release asks the walk plan for one more
round, with the release's request as run config, only when the release read the newest
plan and that plan's round limit allows. Materializations are reported to a real (ephemeral)
instance; the sensor is evaluated as the daemon would."""

from __future__ import annotations

import dagster as dg

from linksyn_dagster.defs.release.assets import NEXT_ROUND, PLAN_ROUNDS_READ
from linksyn_dagster.defs.release.rounds import next_round_sensor
from linksyn_dagster.resources.settings import SettingsResource
from linksyn_dagster.settings import LinkSynSettings


def _plan(instance: dg.DagsterInstance, rounds: list[dict], paths_total: int = 40,
          max_rounds: int | None = None) -> None:
    """A walk plan's materialization; ``max_rounds`` None: a plan that did not record its limit."""
    params = {"rounds": rounds, "paths_total": paths_total,
              **({"max_rounds": max_rounds} if max_rounds is not None else {})}
    instance.report_runless_asset_event(dg.AssetMaterialization(
        "walk_plan", metadata={"walk_params": dg.MetadataValue.json(params)}))


def _release(instance: dg.DagsterInstance, request: dict, rounds_read: int) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(
        "linkqa_dataset", metadata={NEXT_ROUND: dg.MetadataValue.json(request), PLAN_ROUNDS_READ: rounds_read}))


def _tick(instance: dg.DagsterInstance, settings: LinkSynSettings, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"settings": SettingsResource.from_settings(settings)})
    result = next_round_sensor.evaluate_tick(context)
    return result.run_requests or [], result.skip_message, result.cursor


def test_the_release_drives_further_rounds_up_to_the_limit(tmp_path):
    settings = LinkSynSettings(data_dir=tmp_path, release={"fill_cells": True, "max_rounds": 2})
    instance = dg.DagsterInstance.ephemeral()
    _plan(instance, [], paths_total=40)  # no limit recorded: the setting's
    short = {"law": {"2": 3}}
    _release(instance, short, rounds_read=0)
    (request,), _, cursor = _tick(instance, settings, None)
    assert request.run_config == {"ops": {"walk_plan": {"config": {"rounds": [short], "paths_total": 40,
                                                                    "max_rounds": 2}}}}
    assert request.tags["linksyn/round"] == "1"

    # the round's walk plan, then a release that still read the old plan (a partition lagging): no decision
    _plan(instance, [short], paths_total=40)
    _release(instance, {"law": {"2": 1}}, rounds_read=0)
    requests, skipped, cursor = _tick(instance, settings, cursor)
    assert not requests and "its own release decides" in skipped

    # the round's own release: round 2
    _release(instance, {"physics": {"4": 2}}, rounds_read=1)
    (request,), _, cursor = _tick(instance, settings, cursor)
    assert request.run_config["ops"]["walk_plan"]["config"]["rounds"] == [short, {"physics": {"4": 2}}]

    # the limit: a third round is not walked, and says so
    _plan(instance, [short, {"physics": {"4": 2}}], paths_total=40)
    _release(instance, {"physics": {"4": 1}}, rounds_read=2)
    requests, skipped, _ = _tick(instance, settings, cursor)
    assert not requests and skipped.startswith("round limit: 2 of 2")


def test_a_release_that_meets_its_cells_or_does_not_hold_them_walks_nothing(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    _plan(instance, [])
    _release(instance, {}, rounds_read=0)
    held = LinkSynSettings(data_dir=tmp_path, release={"fill_cells": True, "max_rounds": 2})
    requests, skipped, _ = _tick(instance, held, None)
    assert not requests and "no further round" in skipped
    _release(instance, {"law": {"2": 3}}, rounds_read=0)
    open_loop = LinkSynSettings(data_dir=tmp_path, release={"fill_cells": False, "max_rounds": 2})
    requests, skipped, _ = _tick(instance, open_loop, None)
    assert not requests and "FILL_CELLS" in skipped


def test_the_plans_own_round_limit_not_the_setting_stops_the_rounds(tmp_path):
    # the setting allows 3 rounds; the walk plan was launched from the launchpad with max_rounds: 1
    settings = LinkSynSettings(data_dir=tmp_path, release={"fill_cells": True, "max_rounds": 3})
    instance = dg.DagsterInstance.ephemeral()
    _plan(instance, [], paths_total=12, max_rounds=1)
    short = {"law": {"2": 3}}
    _release(instance, short, rounds_read=0)
    (request,), _, cursor = _tick(instance, settings, None)
    # the round it launches carries the plan's limit on, with its path budget
    assert request.run_config == {"ops": {"walk_plan": {"config": {"rounds": [short], "paths_total": 12,
                                                                    "max_rounds": 1}}}}

    # that round's plan records the limit it was given; its release still misses cells: no round 2
    _plan(instance, [short], paths_total=12, max_rounds=1)
    _release(instance, {"law": {"2": 1}}, rounds_read=1)
    requests, skipped, cursor = _tick(instance, settings, cursor)
    assert not requests and skipped.startswith("round limit: 1 of 1 further rounds walked (the walk plan's max_rounds")

    # a plan launched with a higher limit than the setting's walks on past the setting
    _plan(instance, [short, short, short], paths_total=12, max_rounds=4)
    _release(instance, {"law": {"2": 1}}, rounds_read=3)
    (request,), _, _ = _tick(instance, settings, cursor)
    assert len(request.run_config["ops"]["walk_plan"]["config"]["rounds"]) == 4
    assert request.run_config["ops"]["walk_plan"]["config"]["max_rounds"] == 4
