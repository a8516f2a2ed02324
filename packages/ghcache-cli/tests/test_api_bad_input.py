"""Bad input to ``ghcache api``: one line on stderr, no traceback, the right exit code
(2 for usage errors, 1 for failures), no request when the input is rejected up front,
and the cache left as it was."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghcache.cli.api.command import api_command

_spec = importlib.util.spec_from_file_location(
    "ghcache_api_helpers", Path(__file__).with_name("apihelpers.py")
)
assert _spec and _spec.loader
helpers = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ghcache_api_helpers", helpers)
_spec.loader.exec_module(helpers)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stub() -> Iterator[Any]:
    with helpers.StubHub() as hub:
        yield hub


@pytest.fixture
def env(stub: Any, tmp_path: Path) -> dict[str, str]:
    return helpers.hub_env(stub.proxy_url, tmp_path)


def snapshot(directory: Path) -> dict[str, bytes]:
    """The cache's entries (statistics files change on every call and are left out)."""
    if not directory.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name.startswith("gh_api_")}


@pytest.fixture
def warm_cache(env: dict[str, str]) -> dict[str, bytes]:
    done = invoke(["floats"], env)
    assert done.exit_code == 0, done.output
    entries = snapshot(Path(env["CACHE_DIR"]))
    assert len(entries) == 1
    return entries


def invoke(args: list[str], env: dict[str, str], stdin: bytes = b"") -> Any:
    """The click command in this process (fast; the same code the console script runs)."""
    runner = CliRunner()
    return runner.invoke(api_command, args, env=env, input=stdin, prog_name="ghcache api")


def assert_one_line(result: Any) -> str:
    text = result.err_text if hasattr(result, "err_text") else result.stderr
    assert "Traceback" not in text, text
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    return text.strip()


USAGE_ERRORS: list[tuple[list[str], str]] = [
    # pflag's and cobra's words, as gh prints them (after ghcache's prefix)
    (["floats", "--bogus"], "ghcache: unknown flag: --bogus"),
    (["floats", "-iz"], "ghcache: unknown shorthand flag: 'z' in -z"),
    ([], "ghcache: accepts 1 arg(s), received 0"),
    (["a", "b"], "ghcache: accepts 1 arg(s), received 2"),
    (["floats", "-X"], "ghcache: flag needs an argument: 'X' in -X"),
    (["floats", "--jq"], "ghcache: flag needs an argument: --jq"),
    (
        ["floats", "--paginate=x"],
        'ghcache: invalid argument "x" for "--paginate" flag: '
        'strconv.ParseBool: parsing "x": invalid syntax',
    ),
    (["floats", "--jq", "--paginate=x", "-X"], "ghcache: flag needs an argument: 'X' in -X"),
    (
        ["repos/a\nb"],
        'ghcache: parse "http://api.github.localhost/repos/a\\nb": '
        "net/url: invalid control character in URL",
    ),
    (["repos/a\rb"], "net/url: invalid control character in URL"),
    (["repos/\udcff"], 'ghcache: invalid API endpoint "repos/\\xff": not valid UTF-8'),
    (["floats", "--hostname", "\udcff"], 'invalid hostname "\\xff"'),
    (["floats", "--jq", ".a", "--silent"], "only one of `--template`, `--jq`, or `--silent`"),
    (["floats", "--jq", ".a", "-t", "{{.a}}"], "only one of `--template`, `--jq`, or `--silent`"),
    (["floats", "--slurp"], "`--paginate` required when passing `--slurp`"),
    (["floats", "--paginate", "--slurp", "-q", "."], "`--slurp` option is not supported with"),
    (["floats", "--paginate", "-X", "POST"], "`--paginate` option is not supported for non-GET"),
    (
        ["floats", "--paginate", "--input", "-"],
        "`--paginate` option is not supported with `--input`",
    ),
    (["floats", "-f", "nokey"], 'ghcache: invalid key: "nokey"'),
    (["floats", "-F", "a[b"], "requires a value separated by an '=' sign"),
    (["floats", "-f", "a=1", "-f", "a[b]=2"], 'expected map type under "a", got string'),
    (["floats", "-H", "no colon"], "requires a value separated by ':'"),
    (["floats", "-H", "X A: 1"], 'invalid header field name "X A"'),
    (["floats", "-H", ": 1"], 'invalid header field name ""'),
    (["floats", "-H", "X-B: a\nb"], 'invalid header field value for "X-B"'),
    (["floats", "-H", "X-C: \u00e9"], 'header "X-C": only ASCII values can be sent'),
    (
        ["floats", "--cache", "5x"],
        'invalid argument "5x" for "--cache" flag: time: unknown unit "x"',
    ),
    (["floats", "--cache", "soon"], 'time: invalid duration "soon"'),
    (["floats", "--cache", "5"], 'time: missing unit in duration "5"'),
    (["floats", "--ttl", "-1"], 'invalid argument "-1" for "--ttl" flag'),
    (["floats", "--ttl", "10", "--cache", "1m"], "only one of `--cache` or `--ttl`"),
    (["floats", "--offline", "--refresh"], "only one of `--refresh`, `--no-cache`, or `--offline`"),
    (["floats", "--no-cache", "--ttl", "5"], "`--no-cache` cannot be combined"),
    (["floats", "--jq", ".a |"], "ghcache: invalid --jq program: unexpected EOF"),
    (["floats", "--jq", "nosuchfunction(1)"], "ghcache: invalid --jq program:"),
    (["floats", "-t", "{{ .a "], "ghcache: template: :1: unclosed action"),
    (["floats", "-t", "{{ nosuch .a }}"], 'function "nosuch" not defined'),
    (["floats", "-t", "{{ if .a }}"], "unexpected EOF"),
    (["floats", "--hostname", "a/b"], "error parsing `--hostname`"),
    (["http://[bad"], "invalid API endpoint 'http://[bad': Invalid IPv6 URL"),
    (["ftp://x/y"], "invalid API endpoint 'ftp://x/y': not an http(s) URL"),
    (["http://x:99999/y"], "invalid API endpoint"),
    (["floats", "-X", "GE T"], 'invalid method "GE T"'),
]


@pytest.mark.parametrize(
    "args,message", USAGE_ERRORS, ids=[" ".join(a) or "no args" for a, _ in USAGE_ERRORS]
)
def test_usage_errors(
    stub: Any, env: dict[str, str], warm_cache: dict[str, bytes], args: list[str], message: str
) -> None:
    stub.log.clear()
    result = invoke(args, env)
    assert result.exit_code == 1, result.output  # gh's status for a usage error
    assert message in assert_one_line(result)
    assert result.stdout_bytes == b""
    assert stub.log == [], "rejected input must not reach the API"
    assert snapshot(Path(env["CACHE_DIR"])) == warm_cache


# Non-UTF-8 bytes reach Python as lone surrogates (os.fsdecode); each variable is named.
BAD_ENVIRONMENT: list[tuple[dict[str, str], str]] = [
    ({"GH_TOKEN": "\udcff"}, "ghcache: GH_TOKEN: a token is printable ASCII; this value is not"),
    ({"GH_TOKEN": "abc\x01"}, "ghcache: GH_TOKEN: a token is printable ASCII"),
    ({"GITHUB_API_URL": "\udcffx"}, 'ghcache: GITHUB_API_URL: not an http(s) URL: "\\xffx"'),
    ({"GH_HOST": "a\nb"}, 'ghcache: GH_HOST: invalid hostname "a\\nb"'),
]


@pytest.mark.parametrize("bad,message", BAD_ENVIRONMENT, ids=[str(b) for b, _ in BAD_ENVIRONMENT])
def test_bad_environment_is_one_line(
    stub: Any, env: dict[str, str], warm_cache: dict[str, bytes], bad: dict[str, str], message: str
) -> None:
    """A damaged variable is named in one line (exit 1), the token's value never shown,
    whether the answer is cached (fast path) or not."""
    for endpoint in ("floats", "repos/octo/uncached"):
        stub.log.clear()
        result = helpers.run(helpers.ghcache_api(endpoint), {**env, **bad})
        assert result.code == 1, result.describe()
        assert assert_one_line(result).startswith(message)
        assert "\\xff" not in result.err_text or "TOKEN" not in message
        assert (result.out, stub.log) == (b"", [])
    assert snapshot(Path(env["CACHE_DIR"])) == warm_cache


@pytest.mark.parametrize(
    "args",
    [["floats", "--bogus"], ["floats", "--jq", ".a", "--silent"], ["floats", "--cache", "5x"]],
)
def test_usage_errors_as_a_process(
    stub: Any, env: dict[str, str], warm_cache: dict[str, bytes], args: list[str]
) -> None:
    stub.log.clear()
    result = helpers.run(helpers.ghcache_api(*args), env)
    assert result.code == 1, result.describe()
    assert assert_one_line(result).startswith("ghcache: ")
    assert (result.out, stub.log) == (b"", [])
    assert snapshot(Path(env["CACHE_DIR"])) == warm_cache


FAILURES: list[tuple[list[str], str]] = [
    (
        ["floats", "--input", "/nonexistent/body.json"],
        "open /nonexistent/body.json: no such file or directory",
    ),
    (["floats", "--input", "/"], "read /: is a directory"),
    (
        ["floats", "-F", "a=@/nonexistent"],
        'error parsing "a" value: open /nonexistent: no such file',
    ),
    (["repos/{owner}/{repo}"], "unable to expand placeholder in path: "),
    (["x", "-F", "o={owner}"], 'error parsing "o" value: '),
    (["text", "--jq", "."], "invalid character 'h' looking for beginning of value"),
    (["floats", "--jq", ".s.x"], "Cannot index string"),
    (["floats", "-t", "{{ .s.x }}"], "can't evaluate field x in type interface {}"),
    (["notfound"], "ghcache: Not Found (HTTP 404)"),
    (["never-cached", "--offline"], "ghcache: "),
]


@pytest.mark.parametrize("args,message", FAILURES, ids=[" ".join(a) for a, _ in FAILURES])
def test_failures(
    env: dict[str, str],
    warm_cache: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    # cwd outside any git repository, so placeholders cannot come from a remote.
    monkeypatch.chdir(tmp_path)
    result = invoke(args, env)
    assert result.exit_code == 1, result.output
    assert message in assert_one_line(result)
    after = snapshot(Path(env["CACHE_DIR"]))
    assert {name: after[name] for name in warm_cache} == warm_cache


def test_failure_as_a_process(env: dict[str, str], tmp_path: Path) -> None:
    result = helpers.run(helpers.ghcache_api("repos/{owner}/{repo}"), env, cwd=tmp_path)
    assert result.code == 1 and result.out == b""
    assert assert_one_line(result).startswith("unable to expand placeholder in path: ")


def test_unreachable_api_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env, HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    result = helpers.run(helpers.ghcache_api("floats"), env)
    assert result.code == 1
    assert assert_one_line(result).startswith("ghcache: error connecting to api.github.localhost")


def test_stale_answer_when_unreachable(stub: Any, env: dict[str, str]) -> None:
    first = helpers.run(helpers.ghcache_api("floats", "--ttl", "0"), env)
    assert first.code == 0
    down = dict(env, HTTP_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    result = helpers.run(helpers.ghcache_api("floats", "--ttl", "0"), down)
    assert (result.code, result.out) == (0, first.out)
    assert assert_one_line(result).startswith("ghcache: serving a cached answer")


def test_bad_setting_is_one_line(env: dict[str, str], warm_cache: dict[str, bytes]) -> None:
    result = helpers.run(helpers.ghcache_api("floats"), dict(env, CACHE_DEFAULT_TTL="soon"))
    assert result.code == 1
    assert "CACHE_DEFAULT_TTL" in assert_one_line(result)
    assert snapshot(Path(env["CACHE_DIR"])) == warm_cache


def test_cache_dir_that_is_a_file_still_answers(
    stub: Any, env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"keep me")
    env = dict(env, CACHE_DIR=str(blocker))
    result = helpers.run(helpers.ghcache_api("floats", "-q", ".c"), env)
    assert (result.code, result.out) == (0, b"10\n")
    assert assert_one_line(result).startswith("ghcache: not cached: cannot use cache directory")
    assert blocker.read_bytes() == b"keep me"


def test_missing_cache_dir_is_created(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "deep" / "new" / "cache"
    result = helpers.run(helpers.ghcache_api("floats"), dict(env, CACHE_DIR=str(target)))
    assert result.code == 0 and result.err == b""
    assert len(snapshot(target)) == 1


def _read_only_runner(directory: Path) -> list[str] | None:
    """A command prefix that runs a program with ``directory`` mounted read-only (a private
    mount namespace), or None where that is not allowed."""
    import shutil
    import subprocess

    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    prefix = [unshare, "-m", "sh", "-c", script, str(directory)]
    probe = subprocess.run([*prefix, "touch", str(directory / ".probe")], capture_output=True)
    if probe.returncode == 0 or b"Read-only" not in probe.stderr:
        return None
    return prefix


def test_read_only_cache_dir_mount(
    stub: Any, env: dict[str, str], warm_cache: dict[str, bytes]
) -> None:
    cache = Path(env["CACHE_DIR"])
    prefix = _read_only_runner(cache)
    if prefix is None:
        pytest.skip("cannot mount a read-only directory here (needs unshare -m)")
    fresh = helpers.run([*prefix, *helpers.ghcache_api("floats")], env)
    assert (fresh.code, fresh.err) == (0, b"")  # a hit needs no writing
    refreshed = helpers.run([*prefix, *helpers.ghcache_api("floats", "--refresh", "-q", ".c")], env)
    assert (refreshed.code, refreshed.out) == (0, b"10\n")
    assert assert_one_line(refreshed).startswith("ghcache: not cached:")
    miss = helpers.run([*prefix, *helpers.ghcache_api("text")], env)
    assert (miss.code, miss.out) == (0, b"hello text")
    assert assert_one_line(miss).startswith("ghcache: not cached:")
    assert snapshot(cache) == warm_cache


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only directory")
def test_read_only_cache_dir(env: dict[str, str], warm_cache: dict[str, bytes]) -> None:
    cache = Path(env["CACHE_DIR"])
    cache.chmod(0o500)
    try:
        result = helpers.run(helpers.ghcache_api("floats", "--refresh"), env)
        assert result.code == 0
        assert assert_one_line(result).startswith("ghcache: not cached:")
    finally:
        cache.chmod(0o700)
    assert snapshot(cache) == warm_cache


def test_corrupt_entry_is_replaced_not_fatal(
    stub: Any, env: dict[str, str], warm_cache: dict[str, bytes]
) -> None:
    cache = Path(env["CACHE_DIR"])
    (name,) = warm_cache
    (cache / name).write_bytes(b"{not json")
    stub.log.clear()
    result = helpers.run(helpers.ghcache_api("floats"), env)
    assert result.code == 0 and result.err == b""
    assert len(stub.log) == 1
    assert snapshot(cache)[name] != b"{not json"


# --------------------------------------------------------------------------- in-process (CliRunner)


def test_clirunner_success_and_usage_error(stub: Any, env: dict[str, str]) -> None:
    ok = invoke(["floats", "-q", ".s"], env)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout_bytes == b"<a&b>\n"
    bad = invoke(["floats", "--slurp"], env)
    assert bad.exit_code == 1
    assert bad.stderr == "ghcache: `--paginate` required when passing `--slurp`\n"


def test_clirunner_api_error_exit_code(stub: Any, env: dict[str, str]) -> None:
    result = invoke(["notfound"], env)
    assert result.exit_code == 1
    assert result.stdout_bytes.startswith(b'{"message":"Not Found"')
    assert result.stderr == "ghcache: Not Found (HTTP 404)\n"


def test_clirunner_field_from_stdin(stub: Any, env: dict[str, str]) -> None:
    stub.log.clear()
    result = invoke(["x", "-F", "body=@-"], env, stdin=b"typed in\n")
    assert result.exit_code == 0, result.output
    assert stub.log[-1].json == {"body": "typed in\n"}


def test_closed_pipe_exits_like_gh(env: dict[str, str]) -> None:
    """``ghcache api ... | head -c 5``: the shell sees 141, as for gh killed by SIGPIPE."""
    import subprocess

    codes = {}
    for name, command in (("ours", helpers.ghcache_api("big")), ("gh", helpers.gh_api("big"))):
        if name == "gh" and helpers.GH is None:
            continue
        process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.read(5) == b'[{"n"'
        process.stdout.close()
        codes[name] = (process.wait(timeout=60), process.stderr.read())
    assert codes["ours"] == (141, b"")
    if "gh" in codes:
        assert codes["gh"][0] in (141, -13)


def test_full_disk_on_stdout_is_one_line(env: dict[str, str]) -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess_run(helpers.ghcache_api("big"), env, stdout=full)
    assert done.returncode == 1
    assert done.stderr == b"write /dev/stdout: no space left on device\n"


def subprocess_run(command: list[str], env: dict[str, str], **kwargs: Any) -> Any:
    import subprocess

    return subprocess.run(
        command, env=env, stderr=subprocess.PIPE, check=False, timeout=60, **kwargs
    )


def test_verbose_says_where_the_answer_came_from(stub: Any, env: dict[str, str]) -> None:
    first = invoke(["floats", "--verbose", "-q", ".c"], env)
    second = invoke(["floats", "--verbose", "-q", ".c"], env)
    assert first.stdout_bytes == second.stdout_bytes == b"10\n"
    assert first.stderr.startswith("* Request: GET http://api.github.localhost/floats\n")
    assert "* Response: HTTP/1.1 200 from upstream, key bafkrei" in first.stderr
    assert "* Response: HTTP/1.1 200 from cache, key bafkrei" in second.stderr


def test_pagination_that_does_not_advance_stops(stub: Any, env: dict[str, str]) -> None:
    rest = invoke(["loop", "--paginate"], env)
    assert rest.exit_code == 1
    assert rest.stdout_bytes == b"[1][1]"
    assert rest.stderr == (
        "ghcache: pagination does not advance: http://api.github.localhost/loop?page=2 repeats\n"
    )
    # A GraphQL GET never carries the cursor in a body: every page names the same cursor.
    graph = invoke(["graphql", "--paginate", "-X", "GET", "-f", "query=x"], env)
    assert graph.exit_code == 1
    assert graph.stderr == "ghcache: pagination does not advance: cursor C1 repeats\n"


FUZZ_ENDPOINTS = ["floats", "pages", "graphql", "notfound", "text", "nocontent", "controls"]
FUZZ_ENDPOINTS += ["/x?y=1", "repos/{owner}/{repo}", "http://api.github.localhost/floats", "loop"]
FUZZ_FLAGS = [
    ["-i"], ["--silent"], ["--paginate"], ["--slurp"], ["-q", ".a"], ["-q", ".[]"], ["-q", "x |"],
    ["-t", "{{.a}}"], ["-t", "{{range .}}{{.n}}{{end}}"], ["-X", "POST"], ["-X", "GET"],
    ["-f", "a=1"], ["-F", "b=true"], ["-F", "c[]=1"], ["-f", "query=query($endCursor:String){x}"],
    ["--cache", "1m"], ["--ttl", "5"], ["--refresh"], ["--no-cache"], ["--offline"], ["--verbose"],
    ["-H", "X-A: 1"], ["-p", "foo"], ["--input", "-"], ["-F", "d=@-"],
]  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.sampled_from(FUZZ_ENDPOINTS),
    flags=st.lists(st.sampled_from(FUZZ_FLAGS), max_size=4, unique_by=lambda flag: flag[0]),
)
def test_no_flag_combination_ends_in_a_traceback(
    stub: Any, env: dict[str, str], endpoint: str, flags: list[list[str]]
) -> None:
    args = [endpoint, *(part for flag in flags for part in flag)]
    result = invoke(args, dict(env, GH_REPO="o/r"), stdin=b'{"x":1}')
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 2)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
