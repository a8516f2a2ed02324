"""``--jq`` made to behave as gojq (gh 2.23) over libjq, and the template printf/js
additions, without gh: every expected text here is what gh 2.23 printed for the same
program (test_jq_vs_gh and test_template_vs_gh compare against gh itself)."""

from __future__ import annotations

import io

import pytest

from ghcache.cli.gh.goprint import go_sprintf, js_escape
from ghcache.cli.gh.jqerrors import libjq_message
from ghcache.cli.gh.jqfilter import JqError, JqFilter
from ghcache.cli.gh.jqnumbers import read_int_token
from ghcache.cli.gh.jqprogram import rewrite

BODY = b'{"a":1,"s":"h\\u00e9llo <&>","n":9007199254740993,"huge":1e300,"arr":[3,1,2]}'


def run(program: str, body: bytes = BODY) -> str:
    out = io.BytesIO()
    JqFilter(program).run(body, out)
    return out.getvalue().decode()


def failure(program: str, body: bytes = BODY) -> tuple[str, str]:
    """(what was printed before the failure, gh's message)."""
    out = io.BytesIO()
    with pytest.raises(JqError) as caught:
        JqFilter(program).run(body, out)
    return out.getvalue().decode(), str(caught.value)


@pytest.mark.parametrize(
    "program,rewritten",
    [
        (".a # note \\", ".a         "),
        ("[1.000, 1.50, 2e3, 1e-7]", "[1, 1.5, 2000, (1e-7+0)]"),
        ('"1.000 @uri # kept"', '"1.000 @uri # kept"'),
        (".a1.b2 | $x1 | .[0]", ".a1.b2 | $x1 | .[0]"),
        (".s | @uri", ".s | __ghc_uri"),
        ('@uri "q=\\(.s)&n=\\(1.50)"', '"q=\\((.s) | __ghc_uri)&n=\\((1.5) | __ghc_uri)"'),
        ('"a\\("b\\(@uri)")"', '"a\\("b\\(__ghc_uri)")"'),
    ],
)
def test_rewrite(program: str, rewritten: str) -> None:
    assert rewrite(program) == rewritten


def test_numbers_print_as_gh_prints_them() -> None:
    assert run(".n, 9007199254740993, [9007199254740993], -9007199254740993") == (
        "9007199254740992\n9007199254740993\n[9007199254740993]\n-9007199254740993\n"
    )
    assert run("123456789012345678901234567890") == "123456789012345678901234567890\n"
    assert run("pow(2; 64), [pow(2; 64)]") == ("18446744073709551616\n[18446744073709552000]\n")
    assert run("1.000, 1.000 | tostring") == "1\n1\n"
    assert run(".huge | tostring") == "1e+300\n"
    assert run("infinite, -infinite, nan, 1e1000, -0.0") == "+Inf\n-Inf\nNaN\n+Inf\n-0\n"
    assert failure("[1e1000]") == ("", "json: unsupported value: +Inf")
    assert read_int_token("18446744073709552000") == 2.0**64  # libjq's spelling of a double


def test_uri_is_gojqs() -> None:
    assert run('(.s | @uri), @uri "q=\\(.s)"') == "h%C3%A9llo+%3C%26%3E\nq=h%C3%A9llo+%3C%26%3E\n"


def test_halt_and_error_as_gh() -> None:
    assert failure('1, ("bye\\n" | halt_error(3)), 2') == ("1\n", "error: bye\n")
    assert failure(".arr | halt_error") == ("", "error: [3,1,2]")
    assert failure("1, halt, 2") == ("1\n", "error: null")
    assert failure('error({"b": "<&>", "a": 1.5})') == ("", 'error: {"a":1.5,"b":"<&>"}')
    assert run("1, error(null), 2, [error(null)], [limit(-1; 3, 4)]") == "1\n2\n[]\n[3,4]\n"
    assert run('try error("x") catch .') == "x\n"
    assert failure("input") == ("", "input(s)/0 is not allowed")


@pytest.mark.parametrize(
    "program,message",
    [
        ('.a + "x"', 'cannot add: number (1) and string ("x")'),
        (".a / 0", "cannot divide number (1) by: number (0)"),
        (".a % 0", "cannot modulo number (1) by: number (0)"),
        (".arr[] | .[]", "cannot iterate over: number (3)"),
        ("null | .[]", "cannot iterate over: null"),
        (".s | keys", 'keys cannot be applied to: string ("héllo <&>")'),
        (
            '"abcdefghijklmnopqrstuvwxyz0123456789" | keys',
            'keys cannot be applied to: string ("abcdefghijklmnopqrstuvwx ...")',
        ),
        ("[[1]] | @csv", "@csv cannot format an array including: array ([1])"),
        ('"x" | @tsv', '@tsv cannot be applied to: string ("x")'),
        ('"abc" | tonumber', 'invalid number: "abc"'),
        ("{} | sort_by(.a)", "sort_by cannot be applied to: object ({})"),
        ('"[1," | fromjson', "unexpected EOF"),
        (".s.x", 'Cannot index string with string ("x")'),  # gojq's needs the string
    ],
)
def test_runtime_messages(program: str, message: str) -> None:
    assert failure(program)[1] == message


@pytest.mark.parametrize(
    "program,message",
    [
        (".a |", "unexpected EOF"),
        (".a | | .b", 'unexpected token "|"'),
        ('"abc', "unterminated string literal"),
        ("nosuch(1)", "function not defined: nosuch/1"),
        ("$nope", "variable not defined: $nope"),
        ("label $f | break $g", "label not defined: $g"),
        ('import "m" as m; .', 'cannot load module: "m"'),
        ("{(1): 2}", "expected a string for object key but got: number (1)"),
    ],
)
def test_compile_messages(program: str, message: str) -> None:
    with pytest.raises(JqError) as caught:
        JqFilter(program)
    assert str(caught.value) == message


def test_a_libjq_message_it_cannot_reword_is_kept() -> None:
    assert libjq_message("Cannot check whether array has a string key", ".") == (
        "Cannot check whether array has a string key"
    )


@pytest.mark.parametrize(
    "fmt,args,text",
    [
        ("%08.3f|%010v|%+08.2f|", [-2.25, -2.25, 1.5], "-002.250|-000002.25|+0001.50|"),
        ("%-8.2f|% .2f|%+.1f|", [3.0, 3.0, 3.0], "3.00    | 3.00|+3.0|"),
        ("%g|%G|%#g|%x|", [1e300, 1e-7, 1.0, 3.0], "1e+300|1E-07|1.00000|0x1.8p+01|"),
        ("%*d|%-*d|%.*f|%*d|", [5, 3, 4, 3, 2, 0.3, 3.0, 3], "    3|3   |0.30|%!(BADWIDTH)3|"),
        ("%010s|%8.3s|% d|", ["ab", "abcdef", 3], "00000000ab|     abc| 3|"),
    ],
)
def test_printf_like_go(fmt: str, args: list[object], text: str) -> None:
    assert go_sprintf(fmt, args) == text


def test_js_escape_like_go() -> None:
    assert js_escape("a'b\"c<d>e&f=g\\h") == "a\\'b\\\"c\\u003Cd\\u003Ee\\u0026f\\u003Dg\\\\h"
    assert (
        js_escape("t\tn\n\x01\x7f é😀\u00a0\u2028")
        == "t\\u0009n\\u000A\\u0001\x7f é😀\\u00A0\\u2028"
    )
