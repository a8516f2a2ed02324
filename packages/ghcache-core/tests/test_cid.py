"""The stdlib CID equals the multiformats reference and IPFS's known block CIDs."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID, multihash

from ghcache.core.cid import cid_for_bytes, is_cid


def reference_cid(data: bytes) -> str:
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


# (input, CID) pairs checked against multiformats below; the empty raw block's CID is
# the one IPFS itself prints for `ipfs block put --cid-codec raw` of an empty file.
GOLDEN = [
    (b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
    (b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
]


@pytest.mark.parametrize(("data", "expected"), GOLDEN)
def test_golden_cids(data: bytes, expected: str) -> None:
    assert cid_for_bytes(data) == expected
    assert reference_cid(data) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_equals_multiformats(data: bytes) -> None:
    ours = cid_for_bytes(data)
    assert ours == reference_cid(data)
    decoded = CID.decode(ours)
    assert (decoded.version, decoded.codec.name, decoded.hashfun.name) == (1, "raw", "sha2-256")
    assert decoded.raw_digest == multihash.unwrap(multihash.digest(data, "sha2-256"))
    assert is_cid(ours)


def test_large_input_equals_multiformats() -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    assert cid_for_bytes(data) == reference_cid(data)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bafkrei",
        "Bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",  # upper case
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk",  # one short
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk/",  # not alphanumeric
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",  # CIDv0
        "bafkrei" + "\u00e9" * 52,  # letters, but not base32
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1",  # 1 is not base32
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk8",  # nor is 8
    ],
)
def test_is_cid_rejects_other_text(text: str) -> None:
    assert not is_cid(text)


def test_cid_module_stays_stdlib_only() -> None:
    # The CLI's hit path imports these; multiformats alone costs ~130 ms.
    modules = "cid, entry, keys, store, stats, config"
    code = (
        f"import sys; from ghcache.core import {modules}; "
        "heavy = sorted(m for m in ('multiformats', 'httpx', 'pluggy') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
