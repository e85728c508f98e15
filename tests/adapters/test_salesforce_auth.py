"""Salesforce auth modes (SOAP password login, JWT bearer, given session) against the fake."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.adapters.base import UpdateLead
from connector.adapters.salesforce import SalesforceSettings
from connector.adapters.salesforce_auth import AUTH_FAILED, AuthMode, SalesforceAuth
from connector.errors import ConfigError, Transient
from tests.adapters.conftest import SalesforceWorld


def _rsa_key_pem() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def test_password_login_uses_soap_and_never_logs_secrets(
    sf_world: SalesforceWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lead = sf_world.fake.add_lead()
    sf_world.fake.fail_next(1, 503)  # make the adapter log a failure too
    adapter = sf_world.adapter()

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert result.ok and adapter.logins == 1
    [soap] = [r for r in sf_world.fake.requests if r.path == "/services/Soap/u/59.0"]
    assert "<n1:username>integration@acme.test</n1:username>" in soap.body
    session_id = sf_world.fake.writes()[0].headers["Authorization"].removeprefix("Bearer ")
    for secret in ("s3cret-pass", "tok3n", session_id):
        assert secret not in caplog.text
    assert "503" in caplog.text


def test_refused_password_login_is_one_transient_attempt(sf_world: SalesforceWorld) -> None:
    sf_world.env["LEADPOOL_SF_PASSWORD"] = "wrong"
    adapter = sf_world.adapter()
    lead = sf_world.fake.add_lead()

    results = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)] * 2)

    for result in results:
        assert isinstance(result.error, Transient) and result.error.code == AUTH_FAILED
        assert "INVALID_LOGIN" in str(result.error) and "wrong" not in str(result.error)
    assert [r.path for r in sf_world.fake.requests] == ["/services/Soap/u/59.0"]
    assert sf_world.fake.data_requests() == []


def test_jwt_bearer_login(sf_world: SalesforceWorld, tmp_path: Path) -> None:
    private, public = _rsa_key_pem()
    key_file = tmp_path / "server.key"
    key_file.write_bytes(private)
    sf_world.fake.register_jwt_app("3MVG9-leadpool", public)
    env = {
        "LEADPOOL_SF_USERNAME": "integration@acme.test",
        "LEADPOOL_SF_CONSUMER_KEY": "3MVG9-leadpool",
        "LEADPOOL_SF_PRIVATE_KEY_FILE": str(key_file),
    }
    sf_world.env = env
    adapter = sf_world.adapter(auth=SalesforceAuth(mode=AuthMode.JWT))
    lead = sf_world.fake.add_lead()

    [result] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])

    assert result.ok
    [token] = [r for r in sf_world.fake.requests if r.path == "/services/oauth2/token"]
    form = {k: v[0] for k, v in parse_qs(token.body).items()}
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(form["assertion"], public, algorithms=["RS256"], audience=[
        "https://login.salesforce.com"
    ])  # fmt: skip
    assert claims["iss"] == "3MVG9-leadpool" and claims["sub"] == "integration@acme.test"
    assert not [r for r in sf_world.fake.requests if "/Soap/" in r.path]


def test_jwt_signed_with_an_unknown_key_is_refused(
    sf_world: SalesforceWorld, tmp_path: Path
) -> None:
    private, _ = _rsa_key_pem()
    _, registered_public = _rsa_key_pem()
    key_file = tmp_path / "server.key"
    key_file.write_bytes(private)
    sf_world.fake.register_jwt_app("3MVG9-leadpool", registered_public)
    sf_world.env = {
        "LEADPOOL_SF_USERNAME": "integration@acme.test",
        "LEADPOOL_SF_CONSUMER_KEY": "3MVG9-leadpool",
        "LEADPOOL_SF_PRIVATE_KEY_FILE": str(key_file),
    }
    adapter = sf_world.adapter(auth=SalesforceAuth(mode=AuthMode.JWT))

    [result] = adapter.apply([UpdateLead(sf_world.fake.add_lead(), owner=sf_world.rep_ana)])

    assert isinstance(result.error, Transient) and result.error.code == AUTH_FAILED
    assert "invalid_grant" in str(result.error)


def test_given_session_is_used_and_a_rotated_one_is_picked_up(sf_world: SalesforceWorld) -> None:
    sf_world.env = {
        "LEADPOOL_SF_INSTANCE_URL": sf_world.fake.base_url,
        "LEADPOOL_SF_SESSION_ID": sf_world.fake.issue_session(),
    }
    adapter = sf_world.adapter(auth=SalesforceAuth(mode=AuthMode.SESSION))
    lead = sf_world.fake.add_lead()

    assert adapter.apply([UpdateLead(lead, owner=sf_world.rep_ana)])[0].ok
    sf_world.fake.expire_sessions()
    [stale] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ben)])
    sf_world.env["LEADPOOL_SF_SESSION_ID"] = sf_world.fake.issue_session()
    [rotated] = adapter.apply([UpdateLead(lead, owner=sf_world.rep_ben)])

    assert isinstance(stale.error, Transient) and stale.error.code == "INVALID_SESSION_ID"
    assert rotated.ok and sf_world.fake.record("Lead", lead)["OwnerId"] == sf_world.rep_ben
    assert not [r for r in sf_world.fake.requests if not r.path.startswith("/services/data/")]


def test_missing_env_vars_are_named_at_construction(sf_world: SalesforceWorld) -> None:
    sf_world.env = {"LEADPOOL_SF_USERNAME": "integration@acme.test"}

    with pytest.raises(ConfigError) as info:
        sf_world.adapter()

    assert info.value.problems == [
        "salesforce auth 'password': environment variable LEADPOOL_SF_PASSWORD is not set",
        "salesforce auth 'password': environment variable LEADPOOL_SF_TOKEN is not set",
    ]


def test_jwt_key_file_must_exist(sf_world: SalesforceWorld, tmp_path: Path) -> None:
    sf_world.env = {
        "LEADPOOL_SF_USERNAME": "integration@acme.test",
        "LEADPOOL_SF_CONSUMER_KEY": "3MVG9-leadpool",
        "LEADPOOL_SF_PRIVATE_KEY_FILE": str(tmp_path / "absent.key"),
    }

    with pytest.raises(ConfigError, match="LEADPOOL_SF_PRIVATE_KEY_FILE names no readable file"):
        sf_world.adapter(auth=SalesforceAuth(mode=AuthMode.JWT))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_version": "v59.0"}, "api_version"),
        ({"domain": "acme.my.salesforce.com"}, "domain"),
        ({"domain": "https://login"}, "domain"),
        ({"timeout": 0}, "timeout"),
        ({"retry_max_attempts": 0}, "retry_max_attempts"),
    ],
)
def test_bad_settings_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SalesforceSettings(**overrides)  # type: ignore[arg-type]
