"""Secret handling: env lookup order, derivation rules, and that secrets never leak."""

from __future__ import annotations

import copy
import logging
import pickle
import threading
import time
import traceback

import pytest

from ghcache.crypto import (
    Keyring,
    OpenError,
    SealingKey,
    Secret,
    derive_key,
    envelope_timestamp,
    kdf,
    secret_from_env,
)


def test_secret_is_redacted_everywhere(team_secret: str) -> None:
    secret = Secret(team_secret)
    assert secret.reveal() == team_secret.encode()
    for text in (repr(secret), str(secret), f"{secret}", repr([secret]), repr({"s": secret})):
        assert team_secret not in text
        assert "redacted" in text
    assert copy.deepcopy(secret) is secret


def test_secret_cannot_be_pickled(team_secret: str) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(team_secret))
    with pytest.raises(TypeError):
        pickle.dumps(derive_key(team_secret))


def test_secret_validation() -> None:
    with pytest.raises(ValueError):
        Secret("")
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]
    assert Secret("a") == Secret(b"a")
    assert Secret("a") != Secret("b")


def test_secret_from_env_order() -> None:
    env = {"GITHUB_TOKEN": "c-token", "GH_TOKEN": "b-token", "CACHE_SHARED_SECRET": "a-secret"}
    found = secret_from_env(env)
    assert found is not None and found[1] == "CACHE_SHARED_SECRET"
    assert found[0].reveal() == b"a-secret"
    del env["CACHE_SHARED_SECRET"]
    found = secret_from_env(env)
    assert found is not None and found == (Secret("b-token"), "GH_TOKEN")
    del env["GH_TOKEN"]
    assert secret_from_env(env) == (Secret("c-token"), "GITHUB_TOKEN")
    assert secret_from_env({}) is None


def test_secret_from_env_strips_and_skips_blank() -> None:
    env = {"CACHE_SHARED_SECRET": " \n", "GH_TOKEN": "tok\n"}
    assert secret_from_env(env) == (Secret("tok"), "GH_TOKEN")


def test_secret_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CACHE_SHARED_SECRET", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "from-process-env")
    assert secret_from_env() == (Secret("from-process-env"), "GITHUB_TOKEN")


def test_derive_key_accepts_str_bytes_and_secret(team_secret: str) -> None:
    key = derive_key(team_secret)
    assert derive_key(team_secret.encode()) is key
    assert derive_key(Secret(team_secret)) is key


@pytest.mark.parametrize("iterations", [0, 1, 99_999, -100_000])
def test_iterations_floor(iterations: int, team_secret: str) -> None:
    with pytest.raises(ValueError) as caught:
        derive_key(team_secret, iterations=iterations)
    assert team_secret not in str(caught.value)


def test_iterations_type(team_secret: str) -> None:
    with pytest.raises(TypeError):
        derive_key(team_secret, iterations=100_000.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        derive_key(team_secret, iterations=True)


def test_empty_secret_is_refused_without_echo() -> None:
    with pytest.raises(ValueError):
        derive_key("")


def test_iterations_change_the_key(team_secret: str) -> None:
    assert derive_key(team_secret, iterations=100_000) != derive_key(
        team_secret, iterations=200_000
    )


def test_derivation_happens_once_per_secret_and_iterations() -> None:
    secret = "cache-check-secret-9f8e7d6c5b4a"
    started = time.perf_counter()
    first = derive_key(secret, iterations=1_000_000)  # slow enough to tell apart from a lookup
    first_cost = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        assert derive_key(secret, iterations=1_000_000) is first
    repeat_cost = (time.perf_counter() - started) / 100
    assert repeat_cost < first_cost / 20
    # The cache is keyed by a MAC of the secret, never the secret itself.
    for digest, _iterations in kdf._cache:
        assert secret.encode() not in digest
        assert len(digest) == 32


def test_concurrent_first_derivations_agree() -> None:
    secret = "concurrent-secret-1a2b3c4d5e6f"
    results: list[SealingKey] = []
    threads = [
        threading.Thread(target=lambda: results.append(derive_key(secret))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(result is results[0] for result in results)


def test_secret_never_in_repr_logs_or_errors(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], team_secret: str
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"CACHE_SHARED_SECRET": team_secret, "CACHE_PREVIOUS_SECRETS": team_secret + "-old"}
    keyring = Keyring.from_env(env)
    assert keyring is not None
    found = secret_from_env(env)
    assert found is not None
    texts = [repr(keyring), str(keyring), repr(keyring.current), repr(found), str(found)]
    envelope = keyring.seal(b"body", associated=b"ad")
    failures: list[BaseException] = []
    for bad in (b"", envelope[:-1], envelope + b"x", b"GHC\x09" + envelope[4:]):
        with pytest.raises(OpenError) as opened:
            keyring.open(bad, associated=b"ad")
        failures.append(opened.value)
    with pytest.raises(OpenError) as opened:
        keyring.open(envelope, associated=b"other")
    failures.append(opened.value)
    with pytest.raises(OpenError) as opened:
        envelope_timestamp(b"junk")
    failures.append(opened.value)
    with pytest.raises(ValueError) as derived:
        derive_key(team_secret, iterations=5)
    failures.append(derived.value)
    for failure in failures:
        texts.append(str(failure))
        texts.append("".join(traceback.format_exception(failure)))
    logging.getLogger("ghcache").debug(
        "keyring %r key %r secret %s", keyring, keyring.current, found
    )
    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    for text in texts:
        assert team_secret not in text
        assert team_secret.encode().hex() not in text
