"""Turn a raw paste into one searchable text: escapes undone, box and quote prefixes gone, hard wraps joined.

Every step is a single linear pass (no regex with nested quantifiers), so a 1 MB paste stays cheap.
"""

from __future__ import annotations

import re
from collections import Counter

_ESCAPE = re.compile(r"\\(?:u(?P<hex>[0-9a-fA-F]{4})|(?P<ch>[\"\\/bfnrt']))")
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "", "f": "", "n": "\n", "r": "", "t": "\t", "'": "'"}
# Box-drawing bars (Terraform), table pipes, e-mail/Slack quote marks and code fences in front of a line.
_PREFIX = re.compile(r"^[ \t]*(?:[-*] (?=[│┃║|]))?(?:(?:[│┃║|╷╵>]|```|~~~)[ \t]?)+")
_FENCE = re.compile(r"```|~~~")
_BAR = re.compile(r"^[ \t]*(?:[-*] )?[│┃║|]")
# A right-hand box edge (`kubectl describe`, tables). One space before it means the text filled the box,
# so the line was cut by the box, not by the writer.
_SUFFIX = re.compile(r"[ \t]*[│┃║|][ \t]*$")
_FULL_BOX = re.compile(r"\S [│┃║][ \t]*$")
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")
_HEX_RUN = re.compile(r"[0-9a-fA-F-]+")
_MIN_WRAP_WIDTH = 60


def _unescape_once(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        hex_digits = match.group("hex")
        if hex_digits is not None:
            code = int(hex_digits, 16)
            return "" if 0xD800 <= code <= 0xDFFF else chr(code)
        return _SIMPLE[match.group("ch")]

    return _ESCAPE.sub(replace, text)


def unescape(text: str) -> str:
    """Undo JSON string escapes, repeatedly for doubly (or triply) escaped pastes."""
    for _ in range(3):
        if "\\" not in text:
            break
        undone = _unescape_once(text)
        if undone == text:
            break
        text = undone
    return text


def _strip_prefixes(lines: list[str]) -> list[str]:
    return [
        _SPACES.sub(" ", _FENCE.sub(" ", _SUFFIX.sub("", _PREFIX.sub("", line)))).strip() for line in lines
    ]


def _wrap_width(raw: list[str]) -> int | None:
    """The terminal width a paste was hard-wrapped at: the longest length, when most long lines share it.

    Word-wrapped text (Terraform, e-mail) has long lines of varied lengths; a terminal cuts them all at
    exactly its width.
    """
    long_lines = [len(line) for line in raw if len(line) >= _MIN_WRAP_WIDTH]
    if len(long_lines) < 2:
        return None
    lengths = Counter(long_lines)
    width = max(lengths)
    return width if lengths[width] >= 2 and lengths[width] * 5 >= len(long_lines) * 3 else None


def _incomplete_arn(line: str, following: str) -> bool:
    """True when `line` ends inside an ARN that `following` completes (a paste wrapped mid-ARN)."""
    if not following or following[0].isspace():
        return False
    at = line.rfind("arn:")
    if at < 0 or any(ch.isspace() for ch in line[at:]):
        return False
    arn = line[at:]
    if arn.count(":") < 5 or arn[-1] in ":/-_":
        return True
    key_at = arn.rfind("key/")
    if key_at < 0:
        return False
    key = arn[key_at + 4 :]
    run = _HEX_RUN.match(following)
    return bool(run) and len(key) < 36 and len(key) + len(run.group()) == 36 if run else False


def join_lines(text: str) -> str:
    """Strip prefixes and re-join lines a terminal or chat client wrapped in the middle of a token."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _strip_prefixes(raw)
    # Boxed and piped lines (Terraform, sops, tables) are word-wrapped by the tool, never cut by a terminal.
    width = _wrap_width([line for line in raw if not _BAR.match(line)])
    out: list[str] = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        hard_wrapped = bool(_FULL_BOX.search(raw[index])) or (
            width is not None and len(_PREFIX.sub("", raw[index])) == width
        )
        out.append(line)
        if not following:
            out.append("\n")
        elif _incomplete_arn(line, following):
            continue
        elif hard_wrapped and line:
            # A cut at a space keeps the space; a cut inside a word joins the halves.
            bare = _PREFIX.sub("", raw[index])
            following_raw = _PREFIX.sub("", raw[index + 1])
            out.append(" " if bare[-1:].isspace() or following_raw[:1].isspace() else "")
        else:
            out.append("\n")
    return "".join(out)


def normalize(text: str) -> str:
    return join_lines(unescape(text))
