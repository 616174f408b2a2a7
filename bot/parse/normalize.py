"""Turn a raw paste into one searchable text: escapes undone, box and quote prefixes gone, hard wraps joined.

Every step is a single linear pass (no regex with nested quantifiers), so a 1 MB paste stays cheap.
"""

from __future__ import annotations

import re
from collections import Counter

_ESCAPE = re.compile(r"\\(?:u(?P<hex>[0-9a-fA-F]{4})|(?P<ch>[\"\\/bfnrt']))")
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "", "f": "", "n": "\n", "r": "", "t": "\t", "'": "'"}
# Box-drawing bars (Terraform), table pipes, e-mail/Slack quote marks, code fences and comment marks
# (`# `, `// `: errors quoted in code or issue text) in front of a line.
_PREFIX = re.compile(r"^[ \t]*(?:[-*] (?=[│┃║|]))?(?:(?:[│┃║|╷╵>]|```|~~~|#{1,6} |// )[ \t]?)+")
_FENCE = re.compile(r"```|~~~")
# A right-hand box edge (`kubectl describe`, tables). One space before it means the text filled the box,
# so the line was cut by the box, not by the writer.
_BOX_CHARS = "│┃║"
_BARS = ("│", "┃", "║", "|")
_LEADS = ("│", "┃", "║", "|", "╷", "╵", ">", "`", "~", "-", "*", "#", "/")
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


def _clean_line(line: str) -> str:
    line = line.strip()
    if line[:1] in _LEADS:
        line = _PREFIX.sub("", line).strip()
    if line[-1:] in _BARS:
        line = line[:-1].rstrip()
    if "```" in line or "~~~" in line:
        line = _FENCE.sub(" ", line).strip()
    if "  " in line or "\t" in line or "\u00a0" in line or "\u200b" in line:
        line = _SPACES.sub(" ", line)
    return line


def _strip_prefixes(text: str) -> list[str]:
    """Each line without its bars, quote marks, fences and edge spaces; inner runs of spaces made one.

    Per line, with cheap character tests first: the regexes only see the few lines that need them.
    """
    return [_clean_line(line) for line in text.split("\n")]


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
    if at < 0 or " " in line[at:]:
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


def _is_barred(line: str) -> bool:
    return line.lstrip(" \t-*")[:1] in ("│", "┃", "║", "|")


def _junctions(raw: list[str], lines: list[str], width: int | None, boxed: bool) -> dict[int, str]:
    """Line index -> what joins it to the next line, for the lines a terminal, box or chat cut mid-token."""
    joins: dict[int, str] = {}
    last = len(lines) - 1
    for index in (i for i, line in enumerate(lines) if "arn:" in line and i < last):
        if lines[index + 1] and _incomplete_arn(lines[index], lines[index + 1]):
            joins[index] = ""
    for index, line in enumerate(raw[:last]):
        if index in joins or not lines[index] or not lines[index + 1]:
            continue
        cut_by_box = boxed and line.rstrip()[-1:] in _BOX_CHARS and bool(_FULL_BOX.search(line))
        if cut_by_box or (width is not None and len(line) >= width and len(_PREFIX.sub("", line)) == width):
            # A cut at a space keeps the space; a cut inside a word joins the halves.
            bare = _PREFIX.sub("", line)
            following = _PREFIX.sub("", raw[index + 1])
            joins[index] = " " if bare[-1:].isspace() or following[:1].isspace() else ""
    return joins


def join_lines(text: str) -> str:
    """Strip prefixes and re-join lines a terminal or chat client wrapped in the middle of a token."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw = text.split("\n")
    lines = _strip_prefixes(text)
    # Boxed and piped lines (Terraform, sops, tables) are word-wrapped by the tool, never cut by a terminal.
    width = _wrap_width([line for line in raw if len(line) >= _MIN_WRAP_WIDTH and not _is_barred(line)])
    boxed = any(char in text for char in _BOX_CHARS)
    joins = _junctions(raw, lines, width, boxed) if width or boxed or "arn:" in text else {}
    if not joins:
        return "\n".join(lines) + "\n"
    pieces: list[str] = []
    start = 0
    for index in sorted(joins):
        pieces.append("\n".join(lines[start : index + 1]))
        pieces.append(joins[index])
        start = index + 1
    pieces.append("\n".join(lines[start:]))
    return "".join(pieces) + "\n"


def normalize(text: str) -> str:
    return join_lines(unescape(text))
