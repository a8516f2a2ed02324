"""Entry format 2: a JSON body is stored once, verbatim, as the last member ``data``."""

from __future__ import annotations

import base64
import dataclasses
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghcache.core import entry as entry_module
from ghcache.core.cid import cid_for_bytes
from ghcache.core.entry import DATA_MARKER, CorruptEntry, Entry
from ghcache.core.keys import make_request

API = "https://api.github.com/"


def make_entry(body: bytes, path: str = "repos/o/r", **fields: object) -> Entry:
    request = make_request(API, "GET", path)
    values: dict[str, object] = {
        "key": request.key,
        "scope": request.scope,
        "method": "GET",
        "url": request.url,
        "stored_at": 1_700_000_000.25,
        "ttl": 60.0,
        "status": 200,
        "headers": [("Content-Type", "application/json"), ("ETag", '"e"')],
        "body": body,
    }
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]


VERBATIM_BODIES = {
    "object": b'{"a":1,"b":[true,false,null]}',
    "pretty with newlines": b'{\n  "name": "caf\xc3\xa9 \xe2\x98\x83"\n}\n',
    "leading and trailing whitespace": b' \t\r\n[1, 2.5e3, "x"] \n',
    "null": b"null",
    "number": b"-0.5",
    "string": b'"just a string"',
    "escaped lone surrogate": b'"\\udcff"',
}

OTHER_BODIES = {
    "empty": b"",
    "plain text": b"plain text, not JSON\n",
    "utf-8 BOM before JSON": b'\xef\xbb\xbf{"a":1}',
    "NaN": b"NaN",
    "Infinity inside": b"[1, -Infinity]",
    "two values": b"1 2",
    "two values with a comma": b"1,2",
    "unclosed": b'{"a":',
    "closes the file early": b'1},"x":{"y":2',
    "UTF-16 JSON": '{"a": 1}'.encode("utf-16"),
    "latin-1 inside a string": b'"caf\xe9"',
    "control character in a string": b'"a\x01b"',
    "binary": bytes(range(256)),
    "nested too deep": b"[" * 100_000 + b"]" * 100_000,
    "integer beyond Python's digit limit": b"1" * 5000,
}


@pytest.mark.parametrize("name", list(VERBATIM_BODIES))
def test_json_body_is_the_data_member_verbatim_and_last(name: str) -> None:
    body = VERBATIM_BODIES[name]
    entry = make_entry(body)
    raw = entry.to_bytes()
    assert raw.endswith(DATA_MARKER + body + b"}")
    assert raw.index(DATA_MARKER) == len(raw) - 1 - len(body) - len(DATA_MARKER)  # only once
    record = json.loads(raw)  # still one valid JSON document, for jq and people
    assert record["data"] == json.loads(body)
    assert "body" not in record and "body_b64" not in record
    assert record["body_length"] == len(body)
    assert record["body_cid"] == cid_for_bytes(body)
    assert (record["stored_at"], record["ttl"], record["format"]) == (1_700_000_000.25, 60.0, 2)
    assert list(record)[-3:] == ["body_cid", "body_length", "data"]
    back = Entry.from_bytes(raw)
    assert back.body == body
    assert back.data == json.loads(body)


@pytest.mark.parametrize("name", list(OTHER_BODIES))
def test_other_bodies_keep_a_body_field_and_null_data(name: str) -> None:
    body = OTHER_BODIES[name]
    raw = make_entry(body).to_bytes()
    assert raw.endswith(DATA_MARKER + b"null}")
    if name != "nested too deep":  # json.loads cannot nest that deep; our reader can
        record = json.loads(raw)
        assert record["data"] is None
        if "body" in record:
            assert record["body"].encode("utf-8") == body
        else:
            assert base64.b64decode(record["body_b64"]) == body
        assert record["body_length"] == len(body)
    back = Entry.from_bytes(raw)
    assert back.body == body
    assert repr(back.data) == repr(entry_module.decode_json(body))  # NaN != NaN


@given(st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
def test_any_body_round_trips_byte_exact(body: bytes) -> None:
    entry = make_entry(body)
    back = Entry.from_bytes(entry.to_bytes())
    assert back.body == body
    assert back == entry


def test_reading_does_not_decode_the_body_until_data_is_used() -> None:
    body = json.dumps([{"n": n} for n in range(1000)]).encode()
    back = Entry.from_bytes(make_entry(body).to_bytes())
    assert back.__dict__["_data"] is entry_module._PENDING  # bytes-only readers stop here
    assert back.data == [{"n": n} for n in range(1000)]
    assert back.__dict__["_data"] == back.data  # decoded once, then kept


def test_a_verified_body_is_served_even_when_not_json() -> None:
    # A file written by another tool: the CID and length vouch for the bytes,
    # the reader never needs them to be JSON; ``data`` then says None.
    entry = make_entry(b'{"a":1}')
    raw = entry.to_bytes()
    odd = b"[1,"
    forged = raw.replace(entry.body_cid.encode(), cid_for_bytes(odd).encode())
    forged = forged.replace(b'"body_length":7', b'"body_length":3')
    forged = forged[: -len(b'{"a":1}}')] + odd + b"}"
    back = Entry.from_bytes(forged)
    assert back.body == odd and back.data is None
    # Written again, it is no longer verbatim: the new file is valid JSON.
    assert json.loads(back.to_bytes())["body"] == "[1,"


def test_data_given_by_the_caller_is_kept_and_none_means_derive() -> None:
    given_data = {"a": 1, "source": "caller"}
    assert make_entry(b'{"a":1}', data=given_data).data is given_data
    assert make_entry(b'{"a":1}', data=None).data == {"a": 1}
    assert make_entry(b'{"a":1}').data == {"a": 1}
    entry = make_entry(b'{"a":1}')
    entry.data = {"b": 2}
    assert entry.data == {"b": 2}


def test_dataclass_behaviour_is_unchanged() -> None:
    entry = make_entry(b'{"a":1}')
    refreshed = dataclasses.replace(entry, stored_at=time.time(), ttl=5.0)
    assert refreshed.body == entry.body and refreshed.data == {"a": 1}
    assert refreshed.body_cid == entry.body_cid
    assert entry == Entry.from_bytes(entry.to_bytes())
    assert entry != make_entry(b'{"a":2}')
    assert "data" not in repr(entry)
    assert [f.name for f in dataclasses.fields(Entry)][-1] == "data"


def test_lone_surrogate_url_keeps_the_body_verbatim() -> None:
    entry = make_entry(b'{"caf\xc3\xa9":1}', path="repos/o/r\udcff")
    raw = entry.to_bytes()
    assert raw.endswith(DATA_MARKER + b'{"caf\xc3\xa9":1}}')
    back = Entry.from_bytes(raw)
    assert (back.url, back.body) == (entry.url, entry.body)


def test_file_is_about_the_body_size() -> None:
    body = json.dumps([{"id": n, "title": f"issue {n} ünï"} for n in range(5000)]).encode()
    raw = make_entry(body).to_bytes()
    assert len(body) < len(raw) < len(body) + 1024


def legacy_bytes(entry: Entry, data: object) -> bytes:
    """A format 1 file, as the previous writer laid it out."""
    record = entry.header_dict()
    del record["body_length"]
    record["format"] = 1
    record["data"] = data
    record["body"] = entry.body.decode("utf-8")
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def test_format_1_files_are_still_read_and_their_data_field_is_not_trusted() -> None:
    entry = make_entry(b'{"a":1}')
    back = Entry.from_bytes(legacy_bytes(entry, {"a": 1}))
    assert (back.body, back.data, back.key) == (entry.body, {"a": 1}, entry.key)
    forged = Entry.from_bytes(legacy_bytes(entry, {"a": "forged"}))
    assert forged.data == {"a": 1}  # derived from the CID-verified body
    assert make_entry(b"\xff").to_bytes().startswith(b'{"format":2,')  # writes are format 2
    tampered = legacy_bytes(entry, None).replace(b'"body":"{\\"a\\":1}"', b'"body":"{\\"a\\":2}"')
    with pytest.raises(CorruptEntry, match="CID"):
        Entry.from_bytes(tampered)


def test_to_dict_round_trips_through_from_dict() -> None:
    for body in (b'{"a":1}', b"text", b"\xff\x00"):
        entry = make_entry(body)
        record = entry.to_dict()
        assert record["data"] == entry.data
        assert Entry.from_dict(record) == entry
        assert Entry.from_dict(json.loads(json.dumps(record))) == entry
        # Re-serialized any other way (spaces, order), the record is parsed whole.
        assert Entry.from_bytes(json.dumps(record, indent=2).encode()) == entry
        record["body_length"] += 1
        with pytest.raises(CorruptEntry, match="length"):
            Entry.from_bytes(json.dumps(record).encode())
