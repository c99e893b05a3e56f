"""``dbutils.secrets`` from environment variables and a 0600 secrets file, and redaction of read values."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jupyter_taskvalues.runtime import secrets
from jupyter_taskvalues.runtime.secrets import (
    SecretMetadata,
    SecretNotFoundError,
    SecretScope,
    SecretsFileError,
    SecretsUtils,
    redact,
    secret_variable,
)


@pytest.fixture
def utils() -> SecretsUtils:
    return SecretsUtils()


def _secrets_file(path: Path, data: object, mode: int = 0o600) -> Path:
    path.write_text(json.dumps(data))
    os.chmod(path, mode)
    return path


def test_portable_variable_name_upper_cases_and_replaces_punctuation() -> None:
    assert secret_variable("prod-db", "api.key") == "JUPYTER_TASKVALUES_SECRET_PROD_DB__API_KEY"


def test_get_reads_the_variable_as_written_then_its_portable_name(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_prod-db__password", "as-written")
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_WAREHOUSE__TOKEN", "portable")

    assert utils.get("prod-db", "password") == "as-written"
    assert utils.get("warehouse", "token") == "portable"
    assert utils.getBytes(scope="warehouse", key="token") == b"portable"


def test_missing_secret_is_a_value_error_naming_scope_key_and_variable(utils: SecretsUtils) -> None:
    with pytest.raises(SecretNotFoundError) as info:
        utils.get("payments", "api-key")

    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("Secret does not exist with scope: payments and key: api-key.")
    assert "JUPYTER_TASKVALUES_SECRET_PAYMENTS__API_KEY" in str(info.value)
    assert (info.value.fields["scope"], info.value.fields["key"]) == ("payments", "api-key")


def test_secrets_file_is_read_when_only_its_owner_can_read_it(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _secrets_file(tmp_path / "secrets.json", {"ml": {"hf-token": "from-file", "other": "x-value"}})
    monkeypatch.setenv(secrets.SECRETS_FILE_ENV, str(path))
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_ML__OTHER", "env-wins")

    assert utils.get("ml", "hf-token") == "from-file"
    assert utils.get("ml", "other") == "env-wins"
    # ML__OTHER is the portable form of the file's ml/other: one secret, listed once, as get() takes it.
    assert utils.list("ml") == [SecretMetadata("hf-token"), SecretMetadata("other")]
    assert utils.listScopes() == [SecretScope("ml")]


def test_listings_name_each_scope_and_key_as_get_takes_it(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_PROD_DB__PASSWORD", "portable-only")
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_prod-db__api.key", "as-written")
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_WAREHOUSE__TOKEN", "portable-too")
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_ANALYTICS__user", "mixed")
    path = _secrets_file(
        tmp_path / "secrets.json", {"Warehouse.EU": {"Token": "x-value"}, "CAPS": {"K": "v"}}
    )
    monkeypatch.setenv(secrets.SECRETS_FILE_ENV, str(path))

    scopes = [scope.name for scope in utils.listScopes()]

    # PROD_DB is the portable form of prod-db (written out by another variable); WAREHOUSE and ANALYTICS are
    # the portable form of no name written out, so they are listed lower-cased. The file's names are exact.
    assert scopes == ["CAPS", "Warehouse.EU", "analytics", "prod-db", "warehouse"]
    assert [m.key for m in utils.list("prod-db")] == ["api.key", "password"]
    assert [m.key for m in utils.list("warehouse")] == ["token"]
    # Every name listed is one get() finds.
    for scope in scopes:
        for metadata in utils.list(scope):
            assert utils.get(scope, metadata.key)
    assert utils.get("analytics", "user") == utils.get("ANALYTICS", "user") == "mixed"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_secrets_file_others_can_read_is_refused_with_the_chmod_fix(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: int
) -> None:
    path = _secrets_file(tmp_path / "secrets.json", {"ml": {"token": "leaky"}}, mode)
    monkeypatch.setenv(secrets.SECRETS_FILE_ENV, str(path))

    with pytest.raises(SecretsFileError, match=f"chmod 600 {path}"):
        utils.get("ml", "token")


def test_a_malformed_secrets_file_says_what_shape_it_needs(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _secrets_file(tmp_path / "secrets.json", {"ml": ["not", "a", "mapping"]})
    monkeypatch.setenv(secrets.SECRETS_FILE_ENV, str(path))

    with pytest.raises(SecretsFileError, match="JSON object of scopes"):
        utils.listScopes()


def test_list_of_an_unknown_scope_raises_naming_it(utils: SecretsUtils) -> None:
    with pytest.raises(SecretNotFoundError, match="Scope nowhere does not exist"):
        utils.list("nowhere")


@pytest.mark.parametrize("value", ["café-au-lait", "it's-a-secret", "both-'-and-\"-quotes", "tab\there-\\"])
def test_get_bytes_redacts_the_repr_of_the_bytes_too(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_R__BYTES", value)

    data = utils.getBytes("r", "bytes")

    for shown in (repr(data), str([data]), repr(b"'" + data), repr(b'"' + data), repr(b"'\"" + data)):
        assert redact(shown).count("[REDACTED]") == 1, shown
    assert redact(data.decode()) == "[REDACTED]"


def test_values_read_are_redacted_in_nested_outputs_longest_first(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_R__SHORT", "abc")  # too short to redact
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_R__INNER", "s3cr3t")
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_R__OUTER", "s3cr3t-and-more")
    for key in ("SHORT", "INNER", "OUTER"):
        utils.get("R", key)

    shown = redact({"text": ["abc s3cr3t-and-more", "s3cr3t"], "n": 1, "t": ("s3cr3t",)})

    assert shown == {"text": ["abc [REDACTED]", "[REDACTED]"], "n": 1, "t": ("[REDACTED]",)}


@pytest.mark.parametrize("value", ["it's-a-secret", 'say "hi"-token', "line\nbreak-token", "café-token\\x"])
def test_get_redacts_the_forms_repr_and_json_give_the_value(
    utils: SecretsUtils, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JUPYTER_TASKVALUES_SECRET_R__TEXT", value)

    secret = utils.get("r", "text")

    shown = (
        str([secret]),
        repr("'" + secret),
        repr('"' + secret),
        repr("'\"" + secret),
        json.dumps({"password": secret}),
        json.dumps({"password": secret}, ensure_ascii=False),
    )
    for text in shown:
        assert redact(text).count("[REDACTED]") == 1, text
        assert value not in redact(text)
    assert redact(secret) == "[REDACTED]"
