"""`setup salesforce` list views: one per pool through the Metadata API of the fake org."""

from __future__ import annotations

from pathlib import Path

from connector.adapters.salesforce_views import ListViewStep, pool_view_spec, setup_pool_views
from connector.config import load_config
from connector.config.routing_models import RoutingConfig
from tests.adapters.conftest import SalesforceWorld

EXAMPLE = Path(__file__).resolve().parents[2] / "config"


def routing(world: SalesforceWorld, **modes: str) -> RoutingConfig:
    """The example routing with its pools on the fake org's queues (and modes changed)."""
    hc_queue = world.fake.add_queue("Inbound_HC")
    cfg = load_config(EXAMPLE).routing
    pools = {
        name: pool.model_copy(
            update={
                "crm_queue": world.queue if name == "inbound-smb" else hc_queue,
                "mode": modes.get(name, pool.mode),
            }
        )
        for name, pool in cfg.pools.items()
    }
    return cfg.model_copy(update={"pools": pools})


def actions(steps: list[ListViewStep]) -> dict[str, str]:
    return {s.spec.pool: s.action for s in steps}


def test_columns_follow_the_pool_mode() -> None:
    cfg = load_config(EXAMPLE).routing
    pool = pool_view_spec(cfg, "inbound-smb", "Inbound_SMB")
    assert pool.columns == ("LEAD.COMPANY", "Lead_Score__c", "LEAD.LEAD_SOURCE", "LEAD.STATE")
    assert (pool.full_name, pool.queue) == ("Lead.Leadpool_inbound_smb", "Inbound_SMB")
    queue = pool_view_spec(cfg, "inbound-hc", "Inbound_HC")  # no preview: the score only
    assert queue.columns == ("Lead_Score__c", "LEAD.CREATED_DATE")
    assert queue.label == "Pool inbound-hc - take the oldest"
    smb = cfg.pools["inbound-smb"]
    blind = cfg.model_copy(
        update={"pools": {**cfg.pools, "inbound-smb": smb.model_copy(update={"mode": "queue"})}}
    )
    assert pool_view_spec(blind, "inbound-smb", "Q").columns == (
        "Lead_Score__c", "LEAD.LEAD_SOURCE", "LEAD.STATE", "LEAD.CREATED_DATE",
    )  # fmt: skip
    picky = cfg.model_copy(
        update={
            "pools": {**cfg.pools, "inbound-smb": smb.model_copy(update={"mode": "cherry_pick"})}
        }
    )
    assert pool_view_spec(picky, "inbound-smb", "Q").columns[:3] == (
        "FULL_NAME", "LEAD.EMAIL", "LEAD.COMPANY",
    )  # fmt: skip


def test_dry_run_reads_and_changes_nothing(sf_world: SalesforceWorld) -> None:
    steps = setup_pool_views(sf_world.adapter(), routing(sf_world), apply=False)

    assert actions(steps) == {"inbound-smb": "create", "inbound-hc": "create"}
    assert sf_world.fake.metadata.calls == ["readMetadata"]
    assert sf_world.fake.metadata.list_views == {}


def test_apply_creates_queue_views_then_a_second_run_is_a_no_op(
    sf_world: SalesforceWorld,
) -> None:
    adapter, cfg = sf_world.adapter(), routing(sf_world)

    first = setup_pool_views(adapter, cfg, apply=True)
    second = setup_pool_views(adapter, cfg, apply=True)

    assert set(actions(first).values()) == {"created"}
    assert set(actions(second).values()) == {"ok"}
    view = sf_world.fake.metadata.list_views["Lead.Leadpool_inbound_smb"]
    assert (view["filterScope"], view["queue"]) == ("Queue", "Inbound_SMB")
    assert view["columns"] == ["LEAD.COMPANY", "Lead_Score__c", "LEAD.LEAD_SOURCE", "LEAD.STATE"]
    assert sf_world.fake.metadata.calls.count("createMetadata") == 2


def test_view_with_other_settings_is_reported_not_changed(sf_world: SalesforceWorld) -> None:
    adapter = sf_world.adapter()
    setup_pool_views(adapter, routing(sf_world, **{"inbound-smb": "cherry_pick"}), apply=True)
    before = dict(sf_world.fake.metadata.list_views["Lead.Leadpool_inbound_smb"])

    steps = setup_pool_views(adapter, routing(sf_world), apply=True)

    smb = next(s for s in steps if s.spec.pool == "inbound-smb")
    assert smb.action == "mismatch" and "FULL_NAME, LEAD.EMAIL" in smb.line()
    assert sf_world.fake.metadata.list_views["Lead.Leadpool_inbound_smb"] == before


def test_pool_on_a_queue_the_org_lacks_fails_by_name(sf_world: SalesforceWorld) -> None:
    cfg = routing(sf_world)
    smb = cfg.pools["inbound-smb"].model_copy(update={"crm_queue": "00G5g0000009999AAA"})
    cfg = cfg.model_copy(update={"pools": {**cfg.pools, "inbound-smb": smb}})

    steps = setup_pool_views(sf_world.adapter(), cfg, apply=True)

    assert actions(steps) == {"inbound-smb": "failed", "inbound-hc": "created"}
    assert "no Lead queue '00G5g0000009999AAA'" in steps[0].line()
