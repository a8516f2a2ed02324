"""The envelope of a cache entry: opens only for the key and body CID it was sealed for."""

from __future__ import annotations

import pytest

from ghcache.crypto import Keyring, OpenError, derive_key
from ghcache.crypto.entries import open_entry, seal_entry

KEYRING = Keyring(derive_key("a long team secret for the entry tests"))


def test_an_entry_opens_for_its_own_key_and_body_only() -> None:
    sealed = seal_entry(KEYRING, b'{"entry": 1}', key="bafkreikey", body_cid="bafkreibody")
    assert open_entry(KEYRING, sealed, key="bafkreikey", body_cid="bafkreibody") == b'{"entry": 1}'
    for key, body_cid in (("bafkreiother", "bafkreibody"), ("bafkreikey", "bafkreiother")):
        with pytest.raises(OpenError):
            open_entry(KEYRING, sealed, key=key, body_cid=body_cid)
    # the separator keeps (key, body) pairs apart that would concatenate alike
    with pytest.raises(OpenError):
        open_entry(KEYRING, sealed, key="bafkreikeybafkrei", body_cid="body")
