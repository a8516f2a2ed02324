"""``ghcache api`` against the reference client: real ``gh api`` (2.23) and fakehub.

Both programs run as subprocesses with the same environment (GH_HOST=github.localhost,
HTTP_PROXY=fakehub), and must print the same stdout bytes, the same stderr (modulo the
program name) and exit with the same code.  Every ghcache call runs twice: the second
answer comes from the cache, must be identical, and must not reach fakehub.

Deliberate differences, each compared the way the test says:
* ``--include``: Date, X-RateLimit-* and X-GitHub-Request-Id change from one request
  to the next, so their values are masked; all other headers, their order and the
  status line compare exactly.
* ``--slurp`` does not exist in gh 2.23; ghcache implements newer gh's behaviour
  (pages wrapped in one JSON array), compared against gh's ``--paginate`` pages.
* POSTs change fakehub's data (issue numbers, times), so they compare through ``--jq``
  on the stable fields.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghcache.fakehub import FakeHub

_spec = importlib.util.spec_from_file_location(
    "ghcache_api_helpers", Path(__file__).with_name("apihelpers.py")
)
assert _spec and _spec.loader
helpers = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ghcache_api_helpers", helpers)
_spec.loader.exec_module(helpers)

pytestmark = [
    pytest.mark.needs_gh,
    pytest.mark.slow,
    pytest.mark.skipif(helpers.GH is None, reason="the reference client gh is not installed"),
]

ISSUES = "repos/octo/hello/issues"
GRAPHQL_REPO = (
    "query=query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) "
    "{ name issues(first: 3) { nodes { number title } } } }"
)
GRAPHQL_PAGES = (
    'query=query($endCursor: String) { repository(owner: "octo", name: "hello") '
    "{ issues(first: 20, after: $endCursor) { nodes { number } "
    "pageInfo { hasNextPage endCursor } } } }"
)


@pytest.fixture(scope="module")
def hub() -> Iterator[Any]:
    with FakeHub() as running:
        yield running


@pytest.fixture
def env(hub: Any, tmp_path: Path) -> dict[str, str]:
    return helpers.hub_env(hub.proxy_url, tmp_path)


def run_both(hub: Any, env: dict[str, str], args: list[str]) -> tuple[Any, Any, Any]:
    """gh once, ghcache twice; returns (gh, first ghcache, second ghcache)."""
    gh = helpers.run(helpers.gh_api(*args), env)
    ours = helpers.run(helpers.ghcache_api(*args), env)
    before = hub.upstream_count()
    again = helpers.run(helpers.ghcache_api(*args), env)
    assert hub.upstream_count() == before, "the second ghcache call reached fakehub"
    assert (again.code, again.out, again.err) == (ours.code, ours.out, ours.err), (
        f"first: {ours.describe()}\nsecond: {again.describe()}"
    )
    return gh, ours, again


def assert_same(gh: Any, ours: Any, *, mask: bool = False) -> None:
    gh_out, our_out = gh.out, ours.out
    if mask:
        gh_out, our_out = helpers.mask_volatile(gh_out), helpers.mask_volatile(our_out)
    detail = f"gh: {gh.describe()}\nghcache: {ours.describe()}"
    assert our_out == gh_out, detail
    assert helpers.same_stderr(gh.err, ours.err), detail
    assert ours.code == gh.code, detail


CASES: list[tuple[str, list[str], bool]] = [
    ("plain user", ["user"], False),
    ("plain repo", ["repos/octo/hello"], False),
    ("leading slash", ["/repos/octo/hello"], False),
    ("jq strings", [ISSUES, "--jq", ".[].title"], False),
    ("jq numbers", [ISSUES, "--jq", ".[0].number, .[0].comments, length, (.[0].id / 7)"], False),
    ("jq arrays and objects", [ISSUES, "--jq", "[.[].number], .[0].user, .[0].labels"], False),
    ("jq null and bools", [ISSUES, "--jq", ".[0].closed_at, .[0].locked, .[0].nothing"], False),
    ("paginate", [ISSUES, "--paginate"], False),
    ("paginate jq", [ISSUES, "--paginate", "--jq", ".[].number"], False),
    ("paginate per_page", [f"{ISSUES}?per_page=20", "--paginate", "-q", "length"], False),
    ("include", ["-i", "repos/octo/hello"], True),
    ("include paginate", ["-i", f"{ISSUES}?per_page=30", "--paginate", "-q", "length"], True),
    ("silent", ["--silent", "repos/octo/hello"], False),
    ("silent include", ["--silent", "-i", "user"], True),
    ("get with fields", ["-X", "GET", ISSUES, "-f", "state=closed", "-F", "per_page=5"], False),
    ("search query", ["-X", "GET", "search/issues", "-f", "q=repo:octo/hello bug"], False),
    ("template", [ISSUES, "-t", "{{range .}}#{{.number}} {{.title}} [{{.state}}]\n{{end}}"], False),
    (
        "template table",
        [ISSUES, "-t", "{{range .}}{{tablerow .number .title .user.login}}{{end}}"],
        False,
    ),
    ("template time", ["repos/octo/hello", "-t", '{{timefmt "2006-01-02" .created_at}}\n'], False),
    (
        "graphql variables",
        ["graphql", "-F", "owner=octo", "-F", "name=hello", "-f", GRAPHQL_REPO],
        False,
    ),
    ("graphql paginate", ["graphql", "--paginate", "-f", GRAPHQL_PAGES], False),
    ("graphql paginate jq", ["graphql", "--paginate", "-f", GRAPHQL_PAGES, "-q", ".data"], False),
    ("not found", ["repos/octo/nope"], False),
    ("not found include", ["-i", "repos/octo/nope"], True),
    ("placeholder repo", ["repos/{owner}/{repo}", "--jq", ".full_name"], False),
]


@pytest.mark.parametrize("args,mask", [(a, m) for _, a, m in CASES], ids=[n for n, _, _ in CASES])
def test_same_as_gh_and_cached(hub: Any, env: dict[str, str], args: list[str], mask: bool) -> None:
    env = dict(env, GH_REPO="octo/hello")
    gh, ours, _ = run_both(hub, env, args)
    assert_same(gh, ours, mask=mask)
    if "nope" not in args[-1]:
        assert gh.code == 0, gh.describe()
        assert gh.out or "--silent" in args


def test_slurp_wraps_the_pages_gh_prints(hub: Any, env: dict[str, str]) -> None:
    """gh 2.23 has no --slurp: compare with its --paginate pages put into one array."""
    gh = helpers.run(helpers.gh_api(ISSUES, "--paginate"), env)
    assert gh.code == 0, gh.describe()
    decoder = json.JSONDecoder()
    text = gh.out.decode()
    pages: list[str] = []
    index = 0
    while index < len(text):
        _, end = decoder.raw_decode(text, index)
        pages.append(text[index:end])
        index = end
    assert len(pages) == 1  # --paginate asks per_page=100: all 50 issues and pulls in one page
    _, ours, _ = run_both(hub, env, [ISSUES, "--paginate", "--slurp"])
    assert ours.code == 0, ours.describe()
    assert ours.out == ("[" + ",".join(pages) + "]").encode()
    assert [len(page) for page in json.loads(ours.out)] == [len(json.loads(p)) for p in pages]


def test_slurp_over_several_pages(hub: Any, env: dict[str, str]) -> None:
    _, ours, _ = run_both(hub, env, [f"{ISSUES}?per_page=20", "--paginate", "--slurp"])
    pages = json.loads(ours.out)
    assert len(pages) >= 3 and all(isinstance(page, list) for page in pages)
    numbers = helpers.run(helpers.gh_api(ISSUES, "--paginate", "--jq", ".[].number"), env)
    assert [issue["number"] for page in pages for issue in page] == [
        int(line) for line in numbers.out.split()
    ]


def test_post_fields_create_the_same_issue(hub: Any, env: dict[str, str]) -> None:
    args = ["-X", "POST", ISSUES, "-f", "title=Made by a test", "-F", "labels[]=bug"]
    args += ["-f", "body=<b>&", "--jq", ".title, .body, [.labels[].name], .state, .user.login"]
    gh = helpers.run(helpers.gh_api(*args), env)
    before = hub.upstream_count()
    ours = helpers.run(helpers.ghcache_api(*args), env)
    assert hub.upstream_count() == before + 1  # mutations always go upstream
    assert_same(gh, ours)
    again = helpers.run(helpers.ghcache_api(*args), env)
    assert hub.upstream_count() == before + 2
    assert again.out == ours.out


def test_validation_error_422(hub: Any, env: dict[str, str]) -> None:
    args = ["-X", "POST", ISSUES, "-f", "body=no title"]
    gh = helpers.run(helpers.gh_api(*args), env)
    ours = helpers.run(helpers.ghcache_api(*args), env)
    assert gh.code == 1
    assert_same(gh, ours)
    assert ours.err == b"ghcache: Validation Failed (HTTP 422)\n"


def test_post_invalidates_the_cached_list(hub: Any, env: dict[str, str]) -> None:
    args = [f"{ISSUES}?state=all&per_page=100", "--jq", "length"]
    first = helpers.run(helpers.ghcache_api(*args), env)
    created = helpers.run(
        helpers.ghcache_api("-X", "POST", ISSUES, "-f", "title=invalidate me", "--silent"), env
    )
    assert created.code == 0, created.describe()
    after = helpers.run(helpers.ghcache_api(*args), env)
    gh = helpers.run(helpers.gh_api(*args), env)
    assert int(after.out) == int(first.out) + 1 == int(gh.out)


def test_cache_flag_and_offline(hub: Any, env: dict[str, str]) -> None:
    first = helpers.run(helpers.ghcache_api("repos/octo/hello", "--cache", "1h"), env)
    before = hub.upstream_count()
    offline = helpers.run(helpers.ghcache_api("repos/octo/hello", "--offline"), env)
    assert hub.upstream_count() == before
    assert (offline.code, offline.out) == (0, first.out)
    miss = helpers.run(helpers.ghcache_api("repos/octo/empty", "--offline"), env)
    assert miss.code == 1 and miss.out == b""
    assert miss.err.startswith(b"ghcache: ") and miss.err.count(b"\n") == 1
    assert hub.upstream_count() == before


def test_refresh_asks_again_and_no_cache_passes_through(hub: Any, env: dict[str, str]) -> None:
    helpers.run(helpers.ghcache_api("user"), env)
    before = hub.upstream_count()
    refreshed = helpers.run(helpers.ghcache_api("user", "--refresh"), env)
    assert refreshed.code == 0 and hub.upstream_count() == before + 1
    passed = helpers.run(helpers.ghcache_api("user", "--no-cache"), env)
    assert passed.code == 0 and hub.upstream_count() == before + 2
    assert passed.out == refreshed.out


JQ_PROGRAMS = [
    ".[] | {number, title}",
    'map(.title) | join(", ")',
    ".[0] | keys",
    '.[] | select(.state == "open") | .number',
    "[.[] | .comments] | add",
    "[.[].number] | max, min",
    ".[0].number / 3",
    '.[0] | has("title"), has("nope")',
    ".[0].user | to_entries | map(.key) | sort",
    "group_by(.state) | map(length)",
    ".[:2] | map([.number, .title]) | .[] | @csv",
    ".[:2] | .[] | [.number, .state] | @tsv",
    '.[0].title | ascii_downcase, length, test("issue"; "i")',
    ".[0].labels | map(.name)",
    "[.[] | .number] | sort_by(-.) | .[:3]",
    ".[0] | .title |= ascii_upcase | .title",
    ".[0].created_at | fromdateiso8601",
    ".[0] | del(.user) | .number",
    "[limit(3; .[] | .number)]",
    '.[0].title | split(" ") | first',
    '{"n": (. | length), "half": ((. | length) / 2)}',
    ".[0].id | tostring",
    '"\\(.[0].number)-\\(.[0].state)"',
    "[.[] | .number] | @json",
    "empty",
    "null, true, 0.5, -0.125, 1e-7, 1e300",
]


def test_jq_programs_print_like_gh(env: dict[str, str]) -> None:
    """Many everyday jq programs on real-shaped issue JSON: gojq (gh) vs libjq (ghcache)."""
    mismatches = []
    for program in JQ_PROGRAMS:
        gh = helpers.run(helpers.gh_api(ISSUES, "--jq", program), env)
        ours = helpers.run(helpers.ghcache_api(ISSUES, "--jq", program), env)
        if (gh.code, gh.out) != (ours.code, ours.out):
            mismatches.append(f"{program}\n  gh: {gh.describe()}\n  ghcache: {ours.describe()}")
    assert not mismatches, "\n".join(mismatches)


TEMPLATES = [
    '{{range .}}{{.number}}: {{.title | printf "%q"}}{{"\\n"}}{{end}}',
    '{{range .}}{{if eq .state "open"}}{{.number}} {{end}}{{end}}',
    "{{(index . 0).user.login}} {{len .}}",
    "{{range $i, $e := .}}{{if lt $i 3}}{{$i}}={{$e.number}} {{end}}{{end}}",
    '{{range .}}{{.labels | pluck "name" | join ","}};{{end}}',
    "{{range .}}{{tablerow .number (truncate 20 .title) .state}}{{end}}{{tablerender}}done",
    '{{with index . 0}}{{.created_at | timefmt "Jan 2, 2006 at 3:04pm (MST) Monday 06 _2"}}{{end}}',
    "{{range .}}{{.id}} {{end}}",
    "{{(index . 0).body}}|{{(index . 0).closed_at}}|{{(index . 0).nothing}}",
    '{{range .}}{{.comments}} {{.locked}} {{.closed_at}}{{"\\n"}}{{end}}',
    '{{printf "%d items, first %v" (len .) (index . 0).number}}',
    "{{range .}}{{.user}}{{break}}{{end}}",
    "{{ $n := 0 }}{{range .}}{{ $n = .number }}{{end}}{{ $n }}",
    '{{range .}}{{.title | color "green"}}|{{end}}',
    "{{ timeago (index . 0).created_at }}",
    "{{range .}}{{if and .locked (not .comments)}}L{{else if gt .comments 2.0}}C{{else}}-{{end}}{{end}}",
    '{{ index (index . 1) "title" }} {{ (index . 1).user.id }} {{ html "<a&b>" }} {{ urlquery "a b&c" }}',
]


def test_templates_print_like_gh(env: dict[str, str]) -> None:
    """Everyday templates on real-shaped issue JSON: Go's text/template (gh) vs ghcache's."""
    mismatches = []
    for template in TEMPLATES:
        gh = helpers.run(helpers.gh_api(ISSUES, "-t", template), env)
        ours = helpers.run(helpers.ghcache_api(ISSUES, "-t", template), env)
        if (gh.code, gh.out) != (ours.code, ours.out):
            mismatches.append(f"{template}\n  gh: {gh.describe()}\n  ghcache: {ours.describe()}")
    assert not mismatches, "\n".join(mismatches)


def test_graphql_mutation_is_never_cached(hub: Any, env: dict[str, str]) -> None:
    args = [
        "graphql",
        "-f",
        'query=mutation { addStar(input: {starrableId: "x"}) { clientMutationId } }',
    ]
    gh = helpers.run(helpers.gh_api(*args), env)
    before = hub.upstream_count()
    ours = helpers.run(helpers.ghcache_api(*args), env)
    again = helpers.run(helpers.ghcache_api(*args), env)
    assert hub.upstream_count() == before + 2
    assert_same(gh, ours)
    assert (again.code, again.out, again.err) == (ours.code, ours.out, ours.err)
