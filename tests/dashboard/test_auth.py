"""Dashboard access: nothing without signing in, wrong passwords refused, cookies signed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from connector.app import create_app
from connector.config import load_config
from connector.config.holder import ConfigHolder
from connector.errors import ConfigError
from connector.runtime import Runtime
from connector.store.tables import outbox
from tests.dashboard.conftest import DASHBOARD_YAML, ENV, PASSWORD, TOKEN, Dash, dashboard_config
from tests.service.harness import Harness

PAGES = ["/dashboard/", "/dashboard/parked", "/dashboard/leads/sandbox/L1", "/dashboard/lead?id=x"]
API = ["/dashboard/api/overview", "/dashboard/api/parked", "/dashboard/api/leads/sandbox/L1"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_sign_in(dash: Dash, path: str) -> None:
    reply = dash.client.get(path)
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/dashboard/login?next=")


@pytest.mark.parametrize("path", API)
def test_data_endpoints_answer_401(dash: Dash, path: str) -> None:
    reply = dash.client.get(path)
    assert reply.status_code == 401
    assert b"sign in" in reply.data


def test_retry_without_session_is_refused_and_changes_nothing(dash: Dash) -> None:
    reply = dash.client.post("/dashboard/parked/retry", data={"all": "1"})
    assert reply.status_code == 401
    assert _state(dash, dash.parked_id) == "parked"


def test_wrong_password_and_unknown_user_are_refused(dash: Dash) -> None:
    assert dash.login(password="wrong") == 401
    assert dash.login(user="mallory") == 401
    assert dash.client.get("/dashboard/").status_code == 302
    reply = dash.client.post("/dashboard/login", data={"username": "olga", "password": "nope"})
    assert b"Wrong user name or password" in reply.data


def test_sign_in_sets_a_signed_httponly_cookie(dash: Dash) -> None:
    reply = dash.client.post(
        "/dashboard/login",
        data={"username": "olga", "password": PASSWORD, "next": "/dashboard/parked"},
    )
    assert reply.status_code == 302 and reply.headers["Location"] == "/dashboard/parked"
    cookie = reply.headers["Set-Cookie"]
    assert "leadpool_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert dash.client.get("/dashboard/").status_code == 200
    # Flipping a character of the signed value makes it worthless.
    value = cookie.split("leadpool_session=", 1)[1].split(";", 1)[0]
    forged = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    dash.client.set_cookie("leadpool_session", forged, domain="localhost")
    assert dash.client.get("/dashboard/").status_code == 302


def test_next_never_leaves_the_dashboard(dash: Dash) -> None:
    reply = dash.client.post(
        "/dashboard/login",
        data={"username": "olga", "password": PASSWORD, "next": "https://evil.example/x"},
    )
    assert reply.headers["Location"] == "/dashboard/"


def test_bearer_token_opens_json_but_not_pages(dash: Dash) -> None:
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert dash.client.get("/dashboard/api/overview", headers=good).status_code == 200
    bad = {"Authorization": f"Bearer {TOKEN}x"}
    assert dash.client.get("/dashboard/api/overview", headers=bad).status_code == 401
    assert dash.client.get("/dashboard/", headers=good).status_code == 302


def test_retry_needs_the_csrf_token(dash: Dash) -> None:
    assert dash.login() == 302
    reply = dash.client.post("/dashboard/parked/retry", data={"id": str(dash.parked_id)})
    assert reply.status_code == 400
    assert b"CSRF" in reply.data
    assert _state(dash, dash.parked_id) == "parked"


def test_sign_out_ends_the_session(dash: Dash) -> None:
    assert dash.login() == 302
    page = dash.client.get("/dashboard/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert dash.client.post("/dashboard/logout", data={"csrf_token": token}).status_code == 302
    assert dash.client.get("/dashboard/").status_code == 302


def _state(dash: Dash, row_id: int) -> str:
    with dash.h.engine.connect() as conn:
        return str(conn.scalar(select(outbox.c.state).where(outbox.c.id == row_id)))


def _app_for(engine: Engine, tmp_path: Path, yaml: str) -> None:
    config_dir = dashboard_config(tmp_path, yaml)
    h = Harness(engine, config_dir=config_dir)
    holder = ConfigHolder(load_config(config_dir))
    create_app(Runtime(holder, engine, h.crm, h.service, h.clock, h.crm))


def test_missing_secret_key_refuses_to_start(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LP_TEST_SECRET_KEY")
    with pytest.raises(ConfigError, match=r"\$LP_TEST_SECRET_KEY is not set"):
        _app_for(engine, tmp_path, DASHBOARD_YAML)


def test_missing_password_hash_refuses_to_start(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LP_TEST_ADMIN_HASH")
    with pytest.raises(ConfigError, match=r"users\[olga\]: \$LP_TEST_ADMIN_HASH is not set"):
        _app_for(engine, tmp_path, DASHBOARD_YAML)


def test_without_admins_or_token_nobody_gets_in(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADPOOL_SECRET_KEY", raising=False)
    config_dir = dashboard_config(tmp_path, "")
    h = Harness(engine, config_dir=config_dir)
    holder = ConfigHolder(load_config(config_dir))
    app = create_app(Runtime(holder, engine, h.crm, h.service, h.clock, h.crm))
    client = app.test_client()
    assert client.get("/dashboard/").status_code == 401
    reply = client.post("/dashboard/login", data={"username": "olga", "password": "x"})
    assert reply.status_code == 401
