"""Block Kit limits as Slack documents them, checked the way Slack refuses a payload.

Returns Slack-style problem strings (`[ERROR] must be less than 3001 characters [json-pointer:...]`);
an empty list means Slack would accept it. Covers the block kinds kms-why uses, not all of Block Kit.
"""

from __future__ import annotations

from typing import Any

TEXT_TYPES = ("plain_text", "mrkdwn")


def block_problems(blocks: Any, *, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    problems = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        problems += _block(block, f"/blocks/{index}")
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if view.get("type") not in ("modal", "home"):
        problems.append("[ERROR] must be modal or home [json-pointer:/view/type]")
    for name in ("title", "submit", "close"):
        if name in view:
            problems += _text(view[name], f"/view/{name}", 24, plain_only=True)
    if "title" not in view and view.get("type") == "modal":
        problems.append("[ERROR] missing required field: title [json-pointer:/view]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]")
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks", []))
    if has_input and "submit" not in view:
        problems.append("[ERROR] submit is required when an input block is present [json-pointer:/view]")
    return problems + [p.replace("/blocks", "/view/blocks", 1)
                       for p in block_problems(view.get("blocks", []), limit=100)]


def _block(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or "type" not in block:
        return [f"[ERROR] missing required field: type [json-pointer:{where}]"]
    problems = _max(block.get("block_id"), 255, f"{where}/block_id")
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"[ERROR] must provide either text or fields [json-pointer:{where}]")
        if "text" in block:
            problems += _text(block["text"], f"{where}/text", 3000)
        fields = block.get("fields", [])
        if len(fields) > 10:
            problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{where}/fields]")
        for i, item in enumerate(fields):
            problems += _text(item, f"{where}/fields/{i}", 2000)
        if "accessory" in block:
            problems += _element(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        problems += _text(block.get("text"), f"{where}/text", 150, plain_only=True)
    elif kind == "context":
        elements = block.get("elements", [])
        if not 1 <= len(elements) <= 10:
            problems.append(f"[ERROR] must have 1 to 10 items [json-pointer:{where}/elements]")
        for i, item in enumerate(elements):
            problems += _text(item, f"{where}/elements/{i}", 3000)
    elif kind == "actions":
        elements = block.get("elements", [])
        if not 1 <= len(elements) <= 25:
            problems.append(f"[ERROR] must have 1 to 25 items [json-pointer:{where}/elements]")
        for i, item in enumerate(elements):
            problems += _element(item, f"{where}/elements/{i}")
    elif kind == "input":
        problems += _text(block.get("label"), f"{where}/label", 2000, plain_only=True)
        element = block.get("element", {})
        if not isinstance(element, dict) or "type" not in element:
            problems.append(f"[ERROR] missing required field: element [json-pointer:{where}]")
        elif element.get("max_length", 0) > 3000:
            problems.append(f"[ERROR] must be at most 3000 [json-pointer:{where}/element/max_length]")
    elif kind not in ("divider", "rich_text", "image"):
        problems.append(f"[ERROR] unsupported type in this fake: {kind} [json-pointer:{where}/type]")
    return problems


def _element(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or element.get("type") != "button":
        return []
    problems = _text(element.get("text"), f"{where}/text", 75, plain_only=True)
    problems += _max(element.get("value"), 2000, f"{where}/value")
    problems += _max(element.get("action_id"), 255, f"{where}/action_id")
    problems += _max(element.get("url"), 3000, f"{where}/url")
    if element.get("style") not in (None, "primary", "danger"):
        problems.append(f"[ERROR] must be primary or danger [json-pointer:{where}/style]")
    return problems


def _text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        return [f"[ERROR] must be a text object [json-pointer:{where}]"]
    if plain_only and obj["type"] != "plain_text":
        return [f"[ERROR] must be plain_text [json-pointer:{where}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{where}/text]"]
    return _max(text, limit, f"{where}/text")


def _max(value: Any, limit: int, where: str) -> list[str]:
    if value is not None and len(str(value)) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{where}]"]
    return []
