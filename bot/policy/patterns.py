"""Globs and policy-variable templates, compiled once per policy (kms-evaluation.md §2.14, §2.15).

A policy string becomes a `Template`: literal text, wildcard text and `${…}` variables. Variables are
substituted only for policy Version 2012-10-17 (older versions read `${…}` as plain text, as AWS does);
`${*}`, `${?}` and `${$}` stand for the literal characters. A substituted value is always literal, never a
wildcard. A variable whose key is absent (and has no `${key, 'default'}`) makes the pattern match nothing,
which is how AWS treats an unresolvable variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Lookup = Callable[[str], str | None]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
_LITERAL_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_WILDCARD = re.compile(r"[*?]")

# Parts: ("glob", text) wildcards active; ("lit", text) literal; ("var", key_lower, default or None).
Part = tuple[str, str, str | None]


def parse_template(text: str, *, variables: bool) -> tuple[Part, ...]:
    if not variables or "${" not in text:
        return (("glob", text, None),)
    parts: list[Part] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        if found.start() > position:
            parts.append(("glob", text[position : found.start()], None))
        inner = found.group(1)
        if inner in _LITERAL_ESCAPES:
            parts.append(("lit", _LITERAL_ESCAPES[inner], None))
        else:
            with_default = _DEFAULT.match(inner)
            if with_default:
                parts.append(("var", with_default.group(1).lower(), with_default.group(2)))
            else:
                parts.append(("var", inner.strip().lower(), None))
        position = found.end()
    if position < len(text):
        parts.append(("glob", text[position:], None))
    return tuple(parts)


def _glob_regex(text: str, colons_before: int, segmented: bool) -> tuple[str, int]:
    """Regex for wildcard text; in segmented (ARN) mode a wildcard stays inside its segment until the
    sixth (resource) segment, which may itself hold colons."""
    out: list[str] = []
    colons = colons_before
    position = 0
    for found in _WILDCARD.finditer(text):
        literal = text[position : found.start()]
        if literal:
            out.append(re.escape(literal))
            colons += literal.count(":")
        bounded = segmented and colons < 5
        if found.group() == "*":
            out.append("[^:]*" if bounded else ".*")
        else:
            out.append("[^:]" if bounded else ".")
        position = found.end()
    rest = text[position:]
    if rest:
        out.append(re.escape(rest))
        colons += rest.count(":")
    return "".join(out), colons


@lru_cache(maxsize=8192)
def _compile(regex: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


class Pattern:
    """One compiled policy value. `wildcards` False: exact comparison (StringEquals, ArnEquals is glob)."""

    __slots__ = ("_exact", "_parts", "_prefix", "_regex", "ignore_case", "segmented", "source", "wildcards")

    def __init__(
        self,
        source: str,
        *,
        variables: bool,
        wildcards: bool,
        ignore_case: bool = False,
        segmented: bool = False,
    ) -> None:
        self.source = source
        self.wildcards = wildcards
        self.ignore_case = ignore_case
        self.segmented = segmented
        self._parts = parse_template(source, variables=variables)
        self._exact: str | None = None
        self._regex: re.Pattern[str] | None = None
        # `text*` with no other wildcard: a prefix test. In ARN mode the final `*` covers the rest of the
        # value whatever segment it is in (see `_render`), so it is a prefix test there too.
        self._prefix: str | None = None
        if len(self._parts) == 1 and self._parts[0][0] != "var":
            text = self._parts[0][1]
            if not wildcards or self._parts[0][0] == "lit" or ("*" not in text and "?" not in text):
                self._exact = text.lower() if ignore_case else text
            else:
                self._regex = _compile(self._render(lambda _key: None) or "", ignore_case)
                head = text[:-1]
                if text.endswith("*") and "*" not in head and "?" not in head and head.isascii():
                    self._prefix = head.lower() if ignore_case else head

    @property
    def exact_text(self) -> str | None:
        """The one value a case-sensitive pattern matches, when it matches only one."""
        return None if self.ignore_case else self._exact

    @property
    def prefix_text(self) -> str | None:
        """`text` when a case-sensitive pattern matches exactly the values starting with `text`."""
        return None if self.ignore_case else self._prefix

    @property
    def has_variables(self) -> bool:
        return any(part[0] == "var" for part in self._parts)

    def _render(self, lookup: Lookup) -> str | None:
        """The regex for this pattern with variables resolved; None when a variable cannot be resolved."""
        pieces: list[str] = []
        colons = 0
        last_star = -1
        for kind, text, default in self._parts:
            if kind == "glob" and self.wildcards:
                regex, colons = _glob_regex(text, colons, self.segmented)
                if text.endswith("*"):
                    last_star = len(pieces)
                pieces.append(regex)
                continue
            literal = text
            if kind == "var":
                value = lookup(text)
                resolved = default if value is None else value
                if resolved is None:
                    return None
                literal = resolved
            colons += literal.count(":")
            pieces.append(re.escape(literal))
        if self.segmented and colons < 5 and last_star == len(pieces) - 1 and pieces[-1].endswith("[^:]*"):
            # A pattern with fewer than six segments whose last one ends in `*` covers the rest.
            pieces[-1] = pieces[-1][: -len("[^:]*")] + ".*"
        return "".join(pieces)

    def _render_text(self, lookup: Lookup) -> str | None:
        out: list[str] = []
        for kind, text, default in self._parts:
            if kind == "var":
                value = lookup(text)
                resolved = default if value is None else value
                if resolved is None:
                    return None
                out.append(resolved)
            else:
                out.append(text)
        return "".join(out)

    def matches(self, value: str, lookup: Lookup) -> bool:
        prefix = self._prefix
        if prefix is not None:
            if not self.ignore_case:
                return value.startswith(prefix)
            if value.isascii():  # IGNORECASE folds some non-ASCII letters onto ASCII ones: keep the regex
                return value.lower().startswith(prefix)
        if self._exact is not None:
            return (value.lower() if self.ignore_case else value) == self._exact
        if self._regex is not None:
            return self._regex.fullmatch(value) is not None
        if not self.wildcards:
            text = self._render_text(lookup)
            if text is None:
                return False
            return value.lower() == text.lower() if self.ignore_case else value == text
        regex = self._render(lookup)
        return regex is not None and _compile(regex, self.ignore_case).fullmatch(value) is not None

    def resolved(self, lookup: Lookup) -> str:
        """The value as the policy means it for this request (for explanations)."""
        return self._render_text(lookup) or self.source


@lru_cache(maxsize=8192)
def action_pattern(source: str) -> Pattern:
    """Actions: case-insensitive `service:action` globs, no variables (shared: patterns are immutable
    and the same actions recur across statements and policies)."""
    return Pattern(source, variables=False, wildcards=True, ignore_case=True)
