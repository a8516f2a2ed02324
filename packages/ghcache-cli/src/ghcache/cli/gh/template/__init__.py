"""``-t/--template``: the part of Go's text/template that gh users write, with
gh's extra functions (go-gh v1 ``pkg/template``, as in gh 2.23).

Supported: text and ``{{ }}`` actions with ``{{-``/``-}}`` trimming and
``{{/* comments */}}``; fields (``.a.b``), ``$``, variables (``$x := ...``,
``$x = ...``), pipelines with ``|``, parentheses, string/number/bool/nil
literals; ``if``/``else if``/``else``, ``range`` (with one or two variables,
``else``, ``break``, ``continue``), ``with``/``else``; the builtins and, or,
not, len, index, print, printf, println, eq, ne, lt, le, gt, ge, html,
urlquery; and gh's autocolor, color, join, pluck, tablerow, tablerender,
timeago, timefmt, truncate, hyperlink.  Not supported: define, template,
block, slice, call, js (a parse error names them).

Values print as Go prints them: JSON numbers are float64 (``1e+06`` style
for large ones), null is ``<nil>``, a missing key ``<no value>``, objects
``map[k:v]`` with sorted keys, arrays ``[a b]``.
"""

from ghcache.cli.gh.template.exec import Template
from ghcache.cli.gh.template.lex import TemplateError

__all__ = ["Template", "TemplateError"]
