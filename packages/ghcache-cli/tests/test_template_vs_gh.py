"""``ghcache api --template`` against ``gh api --template`` (Go's text/template):
``js`` escaping and ``printf`` flags, width and precision on floats, ints and text.

The same machinery as the ``--jq`` corpus (``ghdiff``): gh once per template as a
process, ghcache's printer in this process, on the jq corpus's stub answer.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load(name: str, alias: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(alias, Path(__file__).with_name(name))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(alias, module)
    spec.loader.exec_module(module)
    return module


helpers = _load("apihelpers.py", "ghcache_api_helpers")
ghdiff = _load("ghdiff.py", "ghcache_ghdiff")
corpus = _load("jq_corpus.py", "ghcache_jq_corpus")

pytestmark = [
    pytest.mark.needs_gh,
    pytest.mark.slow,
    pytest.mark.skipif(helpers.GH is None, reason="the reference client gh is not installed"),
]

JS = [
    r'{{js "a' + "'" + r'b\"c<d>e&f=g\\h"}}',
    r'{{js "tab\there\nnl\r\u0001 del\u007f"}}',
    r'{{js "é ü ✓ 😀 \u00a0 \u2028 \u200b \ufeff \u3000"}}',
    r'{{js "`back` $x {y}"}}',
    "{{js .text}}",
    "{{js .items}}",
    "{{js .total}}",
    "{{js .total .flag}}",
    "{{js .nothing}}",
    "{{js .nothing .total}}",
    "{{js .missing}}",
    '{{js "a" "b"}}',
    "{{js}}",
    "{{.text | js}}",
    "{{range .items}}{{js .title}};{{end}}",
    "{{html .nothing}}",
    "{{urlquery .nothing}}",
    "{{html .total .flag}}",
    "{{print .nothing}}",
]

FLOATS = [
    '{{printf "%8.2f|" .total}}',
    '{{printf "%-8.2f|" .total}}',
    '{{printf "%08.3f|" .ratio}}',
    '{{printf "%08.3f|" (index .items 2).score}}',
    '{{printf "%+.1f|" .total}}',
    '{{printf "%+.1f|" (index .items 2).score}}',
    '{{printf "% .2f|" .total}}',
    '{{printf "%8.2f|%-8.2f|%08.2f|" -1.5 -1.5 -1.5}}',
    '{{printf "%+08.2f|%+-8.2f|%-08.2f|" 1.5 1.5 1.5}}',
    '{{printf "%e|%E|" .huge .tiny}}',
    '{{printf "%.3e|%12.4e|%-12.4e|" .total .ratio .ratio}}',
    '{{printf "%g|%G|%g|" .huge .tiny .ratio}}',
    '{{printf "%.3g|%10.3g|%.10g|" .ratio 1234567.0 .ratio}}',
    '{{printf "%g %g" 100000.0 1000000.0}}',
    '{{printf "%#g|%#.0f|%#e|" 1.0 3.0 3.0}}',
    '{{printf "%v|%10v|%-10v|" .ratio .ratio .total}}',
    '{{printf "%010v|%+v|% v|" (index .items 2).score .total .total}}',
    '{{printf "%v|%v|%v" .huge .tiny .neg}}',
    '{{printf "%f|" .huge}}',
    '{{printf "%.0f|%.1f|%5.1f|" 2.5 0.25 0.05}}',
    '{{printf "%6.2f%%|" .ratio}}',
    '{{printf "%.2f|" 1e21}}',
    '{{printf "%e" 0.0}}',
    '{{printf "%x|%X|" .total .ratio}}',
    '{{range .items}}{{printf "%-6s%6.2f\\n" .state .score}}{{end}}',
]

OTHER_VERBS = [
    '{{printf "%10s|%-10s|" .text .text}}',
    '{{printf "%010s|%08v|" "ab" "ab"}}',
    '{{printf "%3s|%.2s|%8.3s|" "abcdef" "abcdef" "abcdef"}}',
    '{{printf "%10s|" "éü✓"}}',
    '{{printf "%5d|%-5d|%05d|" (len .items) (len .items) (len .items)}}',
    '{{printf "%+d|% 5d|% v|" (len .items) (len .items) (len .items)}}',
    '{{printf "%x|%X|" "hi" "hi"}}',
    '{{printf "%q|%12q|" .text "a"}}',
    '{{printf "%t|%5t|" .flag .flag}}',
    '{{printf "%v|%s|" .nothing .nothing}}',
    '{{printf "%d|%s|%f|" .total .total .text}}',
    '{{printf "%*d|%-*d|%*d|" 5 3 -4 3 4 3}}',
    '{{printf "%.*f|" 2 .ratio}}',
    '{{printf "%*d|" .total 3}}',
    '{{printf "%v %v" 1}}',
    '{{printf "%v" 1 2}}',
    '{{printf "%#v|" .total}}',
]

TEMPLATES = JS + FLOATS + OTHER_VERBS


@pytest.fixture(scope="module")
def stub() -> Iterator[Any]:
    route = helpers.Canned(body=corpus.BODY)
    with helpers.StubHub({f"/{ghdiff.ENDPOINT}": route}) as hub:
        yield hub


@pytest.fixture
def env(stub: Any, tmp_path: Path) -> dict[str, str]:
    return ghdiff.stub_env(stub, tmp_path)


def test_templates_print_like_gh(env: dict[str, str]) -> None:
    assert len(set(TEMPLATES)) == len(TEMPLATES)
    problems = ghdiff.compare_corpus(env, "-t", "template", TEMPLATES, corpus.BODY, {})
    assert not problems, "\n".join(problems)


def test_the_console_script_prints_what_the_printer_does(env: dict[str, str]) -> None:
    template = '{{js .items}}|{{printf "%08.3f|%-8v|" (index .items 2).score .total}}'
    process = helpers.run(helpers.ghcache_api(ghdiff.ENDPOINT, "-t", template), env)
    assert ghdiff.from_process(process) == ghdiff.ghcache_outcome(
        env, "template", template, corpus.BODY
    )
    assert b"\\u003Cbug\\u003E" in process.out and b"-002.250|3       |" in process.out
