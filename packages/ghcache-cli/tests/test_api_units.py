"""Unit tests for the pieces of ``ghcache api``: durations, fields, placeholders (real git
repositories), output formatting, pagination helpers, jq result printing and templates.

Expected strings marked "gh 2.23" were printed by the installed gh for the same input.
"""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghcache.cli.gh import error_messages, output
from ghcache.cli.gh.durations import DurationError, parse_duration
from ghcache.cli.gh.fields import (
    FieldError,
    FieldValueError,
    add_query,
    go_json,
    graphql_payload,
    parse_fields,
)
from ghcache.cli.gh.goprint import go_float_v
from ghcache.cli.gh.gotext import truncate_text
from ghcache.cli.gh.jqfilter import JqError, JqFilter, format_result, go_float
from ghcache.cli.gh.paginate import add_per_page, find_end_cursor, find_next_page, slurp
from ghcache.cli.gh.placeholders import PlaceholderError, Resolver, parse_repo_name, repo_from_url
from ghcache.cli.gh.template import Template, TemplateError

# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1.5h", 5400),
        ("300ms", 0.3),
        ("0", 0),
        ("-5s", -5),
        ("+2m", 120),
        (".5s", 0.5),
        ("1h2m3s4ms", 3723.004),
        ("2\u00b5s", 2e-6),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text,message",
    [
        ("", 'time: invalid duration ""'),
        ("5", 'time: missing unit in duration "5"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),  # gh 2.23
        ("abc", 'time: invalid duration "abc"'),
        ("1h5", 'time: missing unit in duration "1h5"'),
        ("-", 'time: invalid duration "-"'),
        ("99999999999h", 'time: invalid duration "99999999999h"'),
    ],
)
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert str(caught.value) == message


# --------------------------------------------------------------------------- fields


def test_fields_like_gh() -> None:
    params = parse_fields(
        ["a=1", "s=<&>"],
        ["b=2", "c=true", "d=null", "n[k]=v", "arr[]=1", "arr[]=x", "empty[]", "=v", "z=+7"],
    )
    # gh 2.23 sent exactly this body for the same flags.
    assert go_json(params) == (
        b'{"":["v"],"a":"1","arr":[1,"x"],"b":2,"c":true,"d":null,"empty":[],'
        b'"n":{"k":"v"},"s":"\\u003c\\u0026\\u003e","z":7}'
    )


def test_array_of_objects_starts_a_new_object_when_a_key_repeats() -> None:
    params = parse_fields([], ["x[][a]=1", "x[][b]=2", "x[][a]=3"])
    assert params == {"x": [{"a": 1, "b": 2}, {"a": 3}]}


def test_typed_values() -> None:
    params = parse_fields([], ["i=-12", "big=99999999999999999999", "t=True", "f=false", "s=1.5"])
    assert params == {"i": -12, "big": "99999999999999999999", "t": "True", "f": False, "s": "1.5"}


def test_file_and_stdin_values(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes("héllo\n".encode())
    params = parse_fields([], [f"f=@{path}", "s=@-"], stdin=io.BytesIO(b"in\n"))
    assert params == {"f": "héllo\n", "s": "in\n"}
    with pytest.raises(FieldValueError, match='error parsing "m" value: open /nope: no such file'):
        parse_fields([], ["m=@/nope"])


def test_raw_fields_are_never_typed_or_filled() -> None:
    fill_calls: list[str] = []

    def fill(text: str) -> str:
        fill_calls.append(text)
        return text.replace("{owner}", "octo")

    params = parse_fields(["r={owner}", "n=5"], ["t={owner}"], fill=fill)
    assert params == {"r": "{owner}", "n": "5", "t": "octo"}
    assert fill_calls == ["{owner}"]


@pytest.mark.parametrize(
    "raw,typed,message",
    [
        (["nokey"], [], 'invalid key: "nokey"'),
        ([], ["a[b"], "field \"a[b\" requires a value separated by an '=' sign"),
        (["a=1", "a[b]=2"], [], 'expected map type under "a", got string'),
        (["a=1", "a[]=2"], [], 'expected array type under "a", got string'),
        ([], ["a=1", "a[][b]=2"], 'expected array type under "a", got int'),
    ],
)
def test_field_errors(raw: list[str], typed: list[str], message: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_fields(raw, typed)
    assert str(caught.value) == message


def test_query_strings_like_go() -> None:
    params = parse_fields(["a=1", "sp=a b&c/é~*", "zz=<>"], ["b=2", "c=true", "d=null"])
    # gh 2.23 requested exactly this URL.
    assert add_query("x", params) == "x?a=1&b=2&c=true&d=&sp=a+b%26c%2F%C3%A9~%2A&zz=%3C%3E"
    assert add_query("x?q=1", {"a": "2"}) == "x?q=1&a=2"
    assert add_query("x", {}) == "x"
    assert add_query("x", {"l": ["1", 2], "m": {"k": "v"}}) == "x?k=v&l%5B%5D=1&l%5B%5D=2"


def test_graphql_payload() -> None:
    payload = graphql_payload({"query": "q", "operationName": "Op", "n": 3, "o": "x"})
    assert payload == {"query": "q", "operationName": "Op", "variables": {"n": 3, "o": "x"}}
    assert graphql_payload({"query": "q"}) == {"query": "q"}


# --------------------------------------------------------------------------- placeholders


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "topic")
    return work


def test_remote_priority_and_host_filter(repo: Path) -> None:
    git(repo, "remote", "add", "aaa", "https://github.com/first/alpha.git")
    git(repo, "remote", "add", "origin", "git@github.com:orig/inal.git")
    git(repo, "remote", "add", "upstream", "ssh://git@github.com/up/stream")
    git(repo, "remote", "add", "local", "http://github.localhost/lo/cal.git")
    assert Resolver({}, cwd=str(repo)).fill("{owner}/{repo}/{branch}") == "up/stream/topic"
    local = Resolver({"GH_HOST": "github.localhost"}, cwd=str(repo))
    assert local.fill(":owner/:repo/{other}") == "lo/cal/{other}"


def test_remote_on_unknown_host(repo: Path, tmp_path: Path) -> None:
    git(repo, "remote", "add", "origin", "https://example.com/x/y.git")
    env = {"GH_CONFIG_DIR": str(tmp_path / "nogh")}
    with pytest.raises(PlaceholderError, match="point to a known GitHub host"):
        Resolver(env, cwd=str(repo)).fill("{owner}")
    hosts = tmp_path / "gh"
    hosts.mkdir()
    (hosts / "hosts.yml").write_text("example.com:\n    user: me\n")
    assert Resolver({"GH_CONFIG_DIR": str(hosts)}, cwd=str(repo)).fill("{repo}") == "y"


def test_no_remotes_and_detached_head(repo: Path) -> None:
    with pytest.raises(PlaceholderError, match=r"^no git remotes found$"):
        Resolver({}, cwd=str(repo)).fill("{owner}")
    git(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@x",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(PlaceholderError, match="could not determine current branch"):
        Resolver({"GH_REPO": "a/b"}, cwd=str(repo)).fill("{branch}")


def test_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(PlaceholderError, match="not a git repository"):
        Resolver({}, cwd=str(tmp_path)).fill("{owner}")
    assert Resolver({}, cwd=str(tmp_path)).fill("no/placeholders") == "no/placeholders"


def test_gh_repo_forms() -> None:
    assert parse_repo_name("o/r").owner == "o"
    assert parse_repo_name("host.example/o/r").host == "host.example"
    assert parse_repo_name("https://github.com/o/r.git").name == "r"
    with pytest.raises(PlaceholderError, match='expected the "\\[HOST/\\]OWNER/REPO" format'):
        parse_repo_name("bad")
    with pytest.raises(PlaceholderError):
        parse_repo_name("a//b")
    assert repo_from_url("git@ssh.github.com:o/r.git") == parse_repo_name("o/r")


# --------------------------------------------------------------------------- output


class Resp:
    status = 200
    reason = "OK"
    http_version = "HTTP/1.1"
    headers = [
        ("content-type", "application/json"),
        ("x-github-request-id", "ABC"),
        ("X-Multi", "one"),
        ("x-multi", "two"),
        ("Status", "200 OK"),
        ("weird header", "kept"),
    ]
    body = b"{}"


def test_include_block_like_gh() -> None:
    assert output.format_include(Resp()) == (
        b"HTTP/1.1 200 OK\n"
        b"Content-Type: application/json\r\n"
        b"X-Github-Request-Id: ABC\r\n"
        b"X-Multi: one, two\r\n"
        b"weird header: kept\r\n"
        b"\r\n"
    )
    coloured = output.format_include(Resp(), color=True)
    assert b"\x1b[1;34mX-Multi\x1b[m: one, two\r\n" in coloured


def test_status_without_reason() -> None:
    assert output.status_text(404, "") == "404 Not Found"
    assert output.status_text(299, "") == "299 status code 299"


def test_colour_json_like_gh() -> None:
    body = b'{"a":1.50,"e":null,"f":true,"s":"<\\u00e9\\u2028>","arr":[],"obj":{"z":1}}'
    expected = (
        "\x1b[1;38m{\x1b[m\n"
        '  \x1b[1;34m"a"\x1b[m\x1b[1;38m:\x1b[m 1.50\x1b[1;38m,\x1b[m\n'
        '  \x1b[1;34m"e"\x1b[m\x1b[1;38m:\x1b[m \x1b[36mnull\x1b[m\x1b[1;38m,\x1b[m\n'
        '  \x1b[1;34m"f"\x1b[m\x1b[1;38m:\x1b[m \x1b[33mtrue\x1b[m\x1b[1;38m,\x1b[m\n'
        '  \x1b[1;34m"s"\x1b[m\x1b[1;38m:\x1b[m \x1b[32m"<é\\u2028>"\x1b[m\x1b[1;38m,\x1b[m\n'
        '  \x1b[1;34m"arr"\x1b[m\x1b[1;38m:\x1b[m \x1b[1;38m[\x1b[m\x1b[1;38m]\x1b[m\x1b[1;38m,\x1b[m\n'
        '  \x1b[1;34m"obj"\x1b[m\x1b[1;38m:\x1b[m \x1b[1;38m{\x1b[m\n'
        '    \x1b[1;34m"z"\x1b[m\x1b[1;38m:\x1b[m 1\n'
        "  \x1b[1;38m}\x1b[m\n"
        "\x1b[1;38m}\x1b[m\n"
    )
    assert output.colorize_json(body) == expected.encode()
    assert output.colorize_json(b"not json") is None


def test_render_body_rules() -> None:
    json_headers = [("Content-Type", "application/vnd.github+json; charset=utf-8")]
    text_headers = [("Content-Type", "text/plain")]
    assert output.render_body(b'{"a":1}', json_headers, color=False) == b'{"a":1}'
    assert output.render_body(b'{"a":1}', text_headers, color=True) == b'{"a":1}'
    assert output.render_body(b'{"a":1}', json_headers, color=True).startswith(b"\x1b[1;38m{")
    assert output.render_body(b"x", json_headers, color=True) == b"x"
    assert output.render_body(b'{"a":1}', json_headers, color=False, status=204) == b""


@pytest.mark.parametrize(
    "env,tty,expected",
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"CLICOLOR": "0"}, True, False),
        ({"CLICOLOR_FORCE": "1"}, False, True),
        ({"CLICOLOR_FORCE": "0"}, False, False),
        ({"GH_FORCE_TTY": "1"}, False, True),
        ({"GH_FORCE_TTY": "1", "NO_COLOR": "1"}, False, False),
    ],
)
def test_colour_rules(env: dict[str, str], tty: bool, expected: bool) -> None:
    assert output.color_enabled(env, tty) is expected


def test_sanitizer_like_gh() -> None:
    body = (
        b'{"a":"x\\u0009y\\u000Az\\u007f\\u0080\\u009b\\u001B","raw":"\xc2\x9b",'
        b'"esc":"\\\\u001b","esc3":"\\\\\\u001b","k\\u001b":1,"e":"\\\\u00e9"}'
    )
    # gh 2.23 printed exactly this for the same response.
    assert output.sanitize_json_controls(body) == (
        b'{"a":"x^Iy^Jz\\u007f\\\\200\\\\233^[","raw":"\xc2\x9b",'
        b'"esc":"\\\\^[","esc3":"\\\\^[","k^[":1,"e":"\\\\\\u00e9"}'
    )
    assert output.sanitize_json_controls(b'"\\u001b"') == b'"^["'
    assert output.sanitize_json_controls(b"x\\u001b") == b"x\\u001b"  # last six bytes: untouched


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_sanitized_json_stays_json(value: Any) -> None:
    body = json.dumps(value).encode()
    cleaned = output.sanitize_json_controls(body)
    json.loads(cleaned)
    assert b"\\u001b" not in cleaned[:-6].lower()


def test_server_errors() -> None:
    headers = [("Content-Type", "application/json")]
    assert error_messages.server_error(200, headers, b"{}", graphql=False) is None
    assert error_messages.server_error(404, headers, b'{"message":"Not Found"}', graphql=False) == (
        "Not Found (HTTP 404)"
    )
    assert (
        error_messages.server_error(
            422, headers, b'{"errors":[{"message":"a"},"b"]}', graphql=False
        )
        == "a\nb"
    )
    assert (
        error_messages.server_error(400, headers, b'{"message":"M","errors":"E"}', graphql=False)
        == "E (M)"
    )
    assert error_messages.server_error(500, [], b"oops", graphql=False) == "HTTP 500"
    assert (
        error_messages.server_error(200, headers, b'{"errors":[{"message":"bad"}]}', graphql=True)
        == "bad"
    )
    assert error_messages.server_error(
        401, headers, b'{"MESSAGE":"Bad credentials"}', graphql=False
    ) == ("Bad credentials (HTTP 401)")


def test_scopes_suggestion() -> None:
    headers = [("X-Oauth-Scopes", "repo, admin:org"), ("X-Accepted-Oauth-Scopes", "read:org, gist")]
    assert error_messages.scopes_suggestion(404, headers, "github.com") == (
        'This API operation needs the "gist" scope. To request it, run:  '
        "gh auth refresh -h github.com -s gist"
    )
    assert error_messages.scopes_suggestion(422, headers, "github.com") is None
    assert error_messages.scopes_suggestion(404, headers[1:], "github.com") is None


def test_write_cached_matches_the_command_pieces() -> None:
    out = io.BytesIO()
    output.write_cached(out, Resp(), include=True, silent=True)
    assert out.getvalue() == output.format_include(Resp())
    out = io.BytesIO()
    output.write_cached(out, Resp(), include=False)
    assert out.getvalue() == b"{}"


# --------------------------------------------------------------------------- pagination


def test_next_page() -> None:
    link = '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last"'
    assert find_next_page([("Link", link)]) == "https://api.github.com/x?page=2"
    assert find_next_page([("Link", '<https://x/?page=9>; rel="last"')]) is None
    assert find_next_page([]) is None


def test_per_page() -> None:
    assert add_per_page("x", {}) == "x?per_page=100"
    assert add_per_page("x?a=1", {}) == "x?a=1&per_page=100"
    assert add_per_page("x?per_page=5", {}) == "x?per_page=5"
    assert add_per_page("x", {"per_page": 7}) == "x"
    assert add_per_page("x?per_page=", {}) == "x?per_page=&per_page=100"


def test_end_cursor() -> None:
    page: dict[str, Any] = {
        "data": {"a": {"nodes": [1], "pageInfo": {"hasNextPage": True, "endCursor": "C1"}}}
    }
    assert find_end_cursor(json.dumps(page).encode()) == "C1"
    page["data"]["a"]["pageInfo"]["hasNextPage"] = False
    assert find_end_cursor(json.dumps(page).encode()) == ""
    # gh's scanner quirk: a nested object inside pageInfo ends its context.
    quirky = b'{"pageInfo":{"x":{},"hasNextPage":true,"endCursor":"C"}}'
    assert find_end_cursor(quirky) == ""
    assert find_end_cursor(b"not json") == ""


def test_slurp() -> None:
    assert slurp([b"[1]", b"[2]\n"]) == b"[[1],[2]]"


# --------------------------------------------------------------------------- jq


def run_jq(program: str, body: bytes) -> str:
    out = io.BytesIO()
    JqFilter(program).run(body, out)
    return out.getvalue().decode()


FLOATS = (
    b'{"a":1.5,"b":3.14159,"c":10,"d":1e3,"e":null,"f":true,"s":"<a&b>","u":"\\u00e9\\u2028",'
    b'"arr":[],"obj":{"z":1,"y":2},"big":12345678901234567890,"neg":-0.0001}'
)


def test_jq_output_like_gh() -> None:
    # gh 2.23 printed exactly these lines for the same body and program.
    assert run_jq(".a,.b,.c,.d,.e,.f,.s,.u,.arr,.obj,.big,.neg", FLOATS) == (
        '1.50\n3.14\n10\n1000\n\ntrue\n<a&b>\né\u2028\n[]\n{"y":2,"z":1}\n'
        "12345678901234567168\n-0.00\n"
    )
    assert run_jq("[.a,.b,.c,.d,.s]", FLOATS) == '[1.5,3.14159,10,1000,"\\u003ca\\u0026b\\u003e"]\n'
    assert run_jq(".", FLOATS).startswith(
        '{"a":1.5,"arr":[],"b":3.14159,"big":12345678901234567000,'
    )


@pytest.mark.parametrize(
    "number,text",
    [
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e20, "100000000000000000000"),
        (1e-6, "0.000001"),
        (-1e22, "-1e+22"),
        (0.1, "0.1"),
        (-0.0, "-0"),
        (123.0, "123"),
    ],
)
def test_go_float_encoding(number: float, text: str) -> None:
    assert go_float(number) == text


def test_jq_errors() -> None:
    with pytest.raises(JqError, match=r"^unexpected EOF$"):  # gojq's words, as gh prints
        JqFilter(".a |")
    with pytest.raises(JqError, match="invalid character 'h' looking for beginning of value"):
        run_jq(".", b"hello")
    with pytest.raises(JqError, match="unexpected end of JSON input"):
        run_jq(".", b'{"a":')
    out = io.BytesIO()
    with pytest.raises(JqError, match="Cannot index"):
        JqFilter(".[] | .x").run(b'[{"x":1},"s"]', out)
    assert out.getvalue() == b"1\n"  # results before the error are kept, as gh streams them


def test_format_result_scalars() -> None:
    assert format_result(None) == "\n"
    assert format_result(False) == "false\n"
    assert format_result(2) == "2\n"
    assert format_result([]) == "[]\n"


# --------------------------------------------------------------------------- templates


def render(text: str, body: bytes = FLOATS, **kwargs: Any) -> str:
    out = io.BytesIO()
    template = Template(text, **kwargs)
    template.execute(body, out)
    template.flush(out)
    return out.getvalue().decode()


@pytest.mark.parametrize(
    "text,expected",
    [
        # each expected string is gh 2.23's output for the same template and body
        (
            "{{.a}}|{{.b}}|{{.c}}|{{.d}}|{{.e}}|{{.missing}}|{{.f}}|{{.s}}|{{.arr}}|{{.obj}}|{{.big}}|{{.neg}}",
            "1.5|3.14159|10|1000|<no value>|<no value>|true|<a&b>|[]|map[y:2 z:1]|1.2345678901234567e+19|-0.0001",
        ),
        (
            '{{range $k, $v := .obj}}{{$k}}={{$v}} {{end}}{{len .obj}} {{index .obj "z"}} '
            '{{printf "%v-%s-%d-%.1f" .s .s .c .a}} {{if .f}}yes{{else}}no{{end}} {{eq .c 10.0}} '
            '{{ .obj.z | printf "%03.0f" }}',
            "y=2 z=1 2 1 <a&b>-<a&b>-%!d(float64=10)-1.5 yes true 001",
        ),
        (
            '{{ .e | printf "%v" }} {{if .e}}T{{else}}F{{end}} {{ printf "%v" .obj }} {{ .arr | len }} '
            '{{ .c | printf "%T" }} {{ printf "%.2f %5s|%-5s| %t" 3.14159 "ab" "cd" true }} '
            "{{ range $i, $x := .obj }}{{$i}}{{end}} {{ with .missing }}W{{ else }}noW{{ end }} "
            '{{- " trimmed " -}} x {{ not .f }} {{ and .c .f }} {{ or .e "dflt" }} '
            '{{ index . "obj" "z" }} {{ .a | printf "%v" }}  {{ print 1 2 "a" "b" 3 }} {{ println "z" }}',
            "<nil> F map[y:2 z:1] 0 float64 3.14    ab|cd   | true yz noW trimmed x false true dflt "
            "1 1.5  1 2ab3 z\n",
        ),
        (
            "{{ 1234567.0 }} {{ 100000000.0 }} {{ 123456.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1e21 }}",
            "1.234567e+06 1e+08 123456 0.0001 1e-05 1e+21",
        ),
        (
            '{{timefmt "2006-01-02" "2023-05-06T07:08:09Z"}} {{truncate 5 "abcdefghij"}} '
            '{{ "a" | printf "%q" }} {{ 3 }} {{ 1.50 }}',
            '2023-05-06 ab... "a" 3 1.5',
        ),
        ('{{ hyperlink "http://x" "t" }}', "\x1b]8;;http://x\x1b\\t\x1b]8;;\x1b\\"),
        (
            "{{ if eq .c 10.0 }}ten{{ else if .f }}f{{ end }}{{ $x := 5 }}{{ $x }}{{ $x = 6 }}{{ $x }}",
            "ten56",
        ),
        ('{{ (index .obj "y") }}{{ (.obj).z }}{{/* a comment */}}', "21"),
        ("{{range .arr}}x{{else}}empty{{end}}", "empty"),
    ],
)
def test_templates_like_gh(text: str, expected: str) -> None:
    assert render(text) == expected


def test_table_like_gh() -> None:
    pages = b'[{"n":11},{"n":12}]'
    long = "a very long cell that goes on and on and on and on and on and on and on and on and on and on"
    assert render('{{range .}}{{tablerow .n "x"}}{{end}}', pages) == "11  x\n12  x\n"
    assert render('{{range .}}{{tablerow .n "' + long + '" "third"}}{{end}}', pages) == (
        "11  a very long cell that goes on and on and on and on and on and on a...  third\n"
        "12  a very long cell that goes on and on and on and on and on and on a...  third\n"
    )


def test_colour_functions() -> None:
    body = b'{"n":11}'
    assert render('{{ .n | color "red" }}', body) == "11"
    assert render('{{ .n | color "red" }}', body, color=True) == "\x1b[0;31m11\x1b[0m"
    assert (
        render('{{ autocolor "green+b:blue" .n }}', body, color=True) == "\x1b[0;1;32;44m11\x1b[0m"
    )


def test_timeago() -> None:
    now = datetime(2023, 5, 6, 12, 0, 0, tzinfo=UTC)
    body = b'{"t":"2023-05-06T09:00:00Z","u":"2023-05-06T11:59:30Z"}'
    assert render("{{timeago .t}} {{timeago .u}}", body, now=lambda: now) == "3 hours ago just now"


@pytest.mark.parametrize(
    "text,message",
    [
        ("{{ .a ", "template: :1: unclosed action"),
        ("{{ nosuch }}", 'template: :1: function "nosuch" not defined'),
        ("{{ end }}", "template: :1: unexpected {{end}}"),
        ("{{ if .a }}", "template: :1: unexpected EOF"),
        ('{{ define "x" }}{{ end }}', "not supported"),
    ],
)
def test_template_parse_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Template(text)
    assert message in str(caught.value)


def test_template_runtime_errors_keep_earlier_output() -> None:
    out = io.BytesIO()
    with pytest.raises(TemplateError) as caught:
        Template("ok {{ .obj.z.w }}").execute(FLOATS, out)
    assert str(caught.value) == (
        'template: :1:10: executing "" at <.obj.z.w>: can\'t evaluate field w in type interface {}'
    )
    assert out.getvalue() == b"ok "
    with pytest.raises(
        TemplateError, match="can't evaluate field x in type \\[\\]interface \\{\\}"
    ):
        Template("{{.x}}").execute(b"[1]", io.BytesIO())
    with pytest.raises(TemplateError, match="nil is not a command"):
        Template('{{ nil | printf "%v" }}').execute(b"{}", io.BytesIO())


def test_go_float_printing_and_truncate() -> None:
    assert go_float_v(1e6) == "1e+06"
    assert go_float_v(999999.0) == "999999"
    assert go_float_v(-0.00012) == "-0.00012"
    assert truncate_text(4, "abcdefgh") == "abcd"
    assert truncate_text(6, "日本語テキスト") == "日... "  # padded to the width, like go-gh


@pytest.mark.parametrize("depth", [900, 100_000])
def test_deeply_nested_bodies_fail_cleanly(depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    assert output.colorize_json(body) is None or depth < 1000
    assert error_messages.message_from_body(body, 404) == ""
    assert find_end_cursor(body) == ""
    with pytest.raises(JqError, match="nested too deeply"):
        run_jq(".", body)
    with pytest.raises(TemplateError, match="nested too deeply"):
        render("{{.}}", body)


def test_jq_building_a_deep_result_fails_cleanly() -> None:
    with pytest.raises(JqError, match="nested too deeply"):
        run_jq("reduce range(3000) as $i (null; [.])", b"{}")


def test_empty_table_rows_print_nothing() -> None:
    assert render("{{tablerow}}{{tablerow}}x", b"{}") == "x"
    assert render('{{tablerow "a" "b"}}{{tablerow "c"}}', b"{}") == "a  b\nc\n"
