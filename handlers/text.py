"""Slack text in and out.

In: Slack sends message text mrkdwn-encoded (`&amp;` `&lt;` `&gt;`, `<url|label>`, `<@U…>`), and the
composer's `rich_text` blocks carry the raw text; the parser wants what the person pasted.

Out: everything user-controlled (ARNs, statement ids, reasons, pasted text) is escaped so that it can
neither ping (`<!channel>`, `<!here>`, `@everyone`), nor link, nor format our message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_ANGLE = re.compile(r"<([^<>]*)>")
_FENCE = re.compile(r"```")
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_WORD_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_ESCAPED_USER_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")

WORD_JOINER = "\u2060"  # invisible; breaks "@here" so no client or integration reads it as a broadcast
ELLIPSIS = "…"


# --- in ----------------------------------------------------------------------------------------


def _angle(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123|general>
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@ops>, <!date^…|fallback>
        if label:
            return label
        return "@" + target[1:].split("^")[0]
    if target.startswith("mailto:"):
        return label or target[len("mailto:") :]
    return label or target


def unescape_slack(text: str) -> str:
    """Undo Slack's message encoding: links, mentions, entities, code fences."""
    text = _ANGLE.sub(_angle, text)
    text = _FENCE.sub("\n", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _rich_element_text(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind == "text":
        return str(element.get("text", ""))
    if kind == "link":
        return str(element.get("text") or element.get("url", ""))
    if kind == "user":
        return "@" + str(element.get("user_id", ""))
    if kind == "channel":
        return "#" + str(element.get("channel_id", ""))
    if kind == "usergroup":
        return "@" + str(element.get("usergroup_id", ""))
    if kind == "broadcast":
        return "@" + str(element.get("range", ""))
    if kind == "emoji":
        return ":" + str(element.get("name", "")) + ":"
    if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
        return "".join(_rich_element_text(e) for e in element.get("elements", []) if isinstance(e, Mapping))
    if kind == "rich_text_list":
        items = [_rich_element_text(e) for e in element.get("elements", []) if isinstance(e, Mapping)]
        return "\n".join(items)
    return ""


def rich_text_of(blocks: Iterable[Any]) -> str | None:
    """The raw text of the rich_text blocks, one paragraph per element; None when there are none."""
    parts: list[str] = []
    found = False
    for block in blocks:
        if not isinstance(block, Mapping) or block.get("type") != "rich_text":
            continue
        found = True
        for element in block.get("elements", []):
            if isinstance(element, Mapping):
                parts.append(_rich_element_text(element))
    return "\n".join(parts) if found else None


def message_text(message: Mapping[str, Any]) -> str:
    """What a person pasted in a message event or a shortcut's message: rich_text first, else `text`,
    plus the texts of legacy attachments (alerts from integrations carry the error there)."""
    blocks = message.get("blocks")
    raw = rich_text_of(blocks) if isinstance(blocks, list) else None
    text = raw if raw is not None else unescape_slack(str(message.get("text") or ""))
    extra: list[str] = []
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, Mapping):
            continue
        for key in ("pretext", "title", "text"):
            if attachment.get(key):
                extra.append(unescape_slack(str(attachment[key])))
        for item in attachment.get("fields") or []:
            if isinstance(item, Mapping) and item.get("value"):
                extra.append(unescape_slack(str(item["value"])))
    return "\n".join([text, *extra]).strip()


# --- out ---------------------------------------------------------------------------------------


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _no_broadcast(text: str) -> str:
    return _BROADCAST.sub(lambda m: "@" + WORD_JOINER + m.group(1), text)


def escape_mrkdwn(text: str) -> str:
    """User-controlled free text, safe inside mrkdwn: no pings, links or formatting it did not ask for."""
    text = _entities(text).replace("`", "ˋ").replace("*", "∗").replace("~", "∼")
    # Broadcasts last: swapping "_" for "＿" can give "@channel_" the word boundary it lacked.
    return _no_broadcast(_WORD_EDGE_UNDERSCORE.sub("＿", text))


def escape_keeping_user_mentions(text: str) -> str:
    """Like escape_mrkdwn, but `<@U…>` written by the worker (e.g. "Applied by <@U1>") still mentions."""
    return _ESCAPED_USER_MENTION.sub(r"<@\1>", escape_mrkdwn(text))


def code(text: str) -> str:
    """An identifier (ARN, action, Sid) as inline code: copyable verbatim, formatting inert."""
    inner = _no_broadcast(_entities(text.replace("`", "ˋ").replace("\n", " ")))
    return f"`{inner}`" if inner else "`(none)`"


def code_block(text: str) -> str:
    """Verbatim lines (a diff, CLI commands) as a code block that user content cannot close."""
    inner = _no_broadcast(_entities(text.replace("```", "ˋˋˋ")))
    return f"```\n{inner}\n```"


def clip(mrkdwn: str, limit: int) -> str:
    """Cut already-escaped mrkdwn to `limit` characters without splitting an entity or a code block."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    fenced = mrkdwn.endswith("```")
    room = limit - len(ELLIPSIS) - (4 if fenced else 0)
    cut = _PARTIAL_ENTITY.sub("", mrkdwn[:room])
    return cut + ELLIPSIS + ("\n```" if fenced else "")


def plain(text: str, limit: int) -> str:
    """Text for a plain_text object (headers, buttons, modal titles): not parsed, only cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def split_lines(text: str, limit: int) -> list[str]:
    """Consecutive lines grouped so that each group, once escaped, stays under `limit` characters."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines() or [""]:
        while len(_entities(line)) > limit:  # one monstrous line: hard-split it
            head, line = line[: limit // 5], line[limit // 5 :]
            chunks, current, size = [*chunks, *(["\n".join(current)] if current else []), head], [], 0
        cost = len(_entities(line)) + 1
        if current and size + cost > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += cost
    if current:
        chunks.append("\n".join(current))
    return chunks
