"""The `world` fixture: each playbook scenario runs on Salesforce, HubSpot and the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakecrm.tls import ThrowawayCA
from tests.playbook.crm_worlds import HubSpotWorld, SalesforceWorld
from tests.playbook.world import SandboxWorld, World


@pytest.fixture(scope="session")
def playbook_ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    """One throwaway CA for the fake Salesforce orgs of the session."""
    return ThrowawayCA(Path(tmp_path_factory.mktemp("playbook-tls")))


@pytest.fixture(params=["salesforce", "hubspot", "sandbox"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A CRM with leadpool in front of it, at Monday 10:00 in New York."""
    built: World
    if request.param == "salesforce":
        built = SalesforceWorld(tmp_path, request.getfixturevalue("playbook_ca"), monkeypatch)
    elif request.param == "hubspot":
        built = HubSpotWorld(tmp_path, monkeypatch)
    else:
        built = SandboxWorld(tmp_path)
    try:
        yield built
    finally:
        built.close()
