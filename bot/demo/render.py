"""A diagnosis as a person reads it in a terminal: colour on a TTY, plain text when piped (pure)."""

from __future__ import annotations

import json

from bot.diagnosis.models import Diagnosis, Fix, Lock, layer_words

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_VERDICT = {
    "allow": "allowed by the policies read",
    "explicit_deny": "denied (explicit deny)",
    "implicit_deny": "denied (no statement allows it)",
}
_FIX_KIND = {
    "key_policy_patch": "key-policy patch",
    "iam_policy_patch": "IAM policy change",
    "org_policy_change": "organization policy change",
    "reencrypt": "re-encrypt",
    "other": "what to do",
}


class _Paint:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, *styles: str) -> str:
        if not self.colour or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"


def _lock_line(lock: Lock, paint: _Paint) -> str:
    if lock.allows is True:
        mark, word = paint("✔", "green"), paint("allows ", "green")
    elif lock.allows is False:
        mark, word = paint("✘", "red", "bold"), paint("refuses", "red", "bold")
    else:
        mark, word = paint("?", "yellow"), paint("unseen ", "yellow")
    where = " · ".join(
        p for p in (_short(lock.policy), f"statement {lock.statement}" if lock.statement else None) if p
    )
    line = f"  {mark} {layer_words(lock.layer):<22} {word}  {where}".rstrip()
    if lock.explain and lock.allows is not True:
        line += "\n" + " " * 35 + paint(lock.explain, "dim")
    return line


def _diff(diff: str, paint: _Paint) -> list[str]:
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            lines.append(paint(line, "bold"))
        elif line.startswith("+"):
            lines.append(paint(line, "green"))
        elif line.startswith("-"):
            lines.append(paint(line, "red"))
        elif line.startswith("@@"):
            lines.append(paint(line, "cyan"))
        else:
            lines.append(line)
    return ["      " + line for line in lines]


def _command(command: str) -> str:
    if "<<'EOF'" in command:
        head, _, body = command.partition("\n")
        return f"{head} … ({body.count(chr(10))} lines: the policy shown above) EOF"
    return command


def _fix(number: int, fix: Fix, paint: _Paint) -> list[str]:
    proof = ""
    if fix.kind in ("key_policy_patch", "iam_policy_patch"):
        proof = paint(" (verified ✔)", "green") if fix.verified else paint(" (not verified)", "yellow")
    lines = [paint(f"Fix {number}: {_FIX_KIND[fix.kind]}", "bold") + proof, f"    {fix.summary}"]
    if fix.blast_radius:
        lines.append(f"    blast radius: {fix.blast_radius}")
    if fix.policy_sha256_before:
        lines.append(
            paint(f"    applies to the key policy whose SHA-256 is {fix.policy_sha256_before}", "dim")
        )
    if fix.diff:
        lines += _diff(fix.diff, paint)
    if fix.statement and fix.kind == "iam_policy_patch":
        lines += ["      " + line for line in json.dumps(fix.statement, indent=2).splitlines()]
    if fix.summary.startswith("Or ") and fix.kind == "key_policy_patch":
        lines.append(paint("    (apply it with the same commands as above, using this policy)", "dim"))
        return lines
    for command in fix.commands:
        lines.append(paint("    $ " + _command(command), "cyan"))
    return lines


def _verdict(diagnosis: Diagnosis) -> str:
    states = {lock.layer: lock.allows for lock in diagnosis.locks}
    if states.get("key_state") is False:
        if states.get("identity") is None and states.get("key_policy") is None:
            return "KMS refused the key itself; the policies were not weighed"
        return f"KMS refused the key itself; the policies alone: {_VERDICT[diagnosis.verdict]}"
    return _VERDICT[diagnosis.verdict]


def _short(policy: str | None) -> str | None:
    """Organization policy ARNs are long and only their policy id matters to a reader."""
    if policy and policy.startswith("arn:aws:organizations::"):
        return policy.rsplit("/", 1)[-1]
    return policy


def render(diagnosis: Diagnosis, *, colour: bool = False) -> str:
    paint = _Paint(colour)
    denial = diagnosis.denial
    cause = diagnosis.cause
    lines = [
        paint(f"{denial.action or 'kms:?'}", "bold")
        + f" by {denial.principal_arn or '(caller not in the paste)'}",
        f"  on {denial.resource_arn or denial.key_id or '(key not named in the paste)'}",
        paint("Verdict: ", "bold")
        + _verdict(diagnosis)
        + paint(f"  [§4 row {cause.catalogue} · {cause.code}]", "dim"),
        paint(cause.summary, "bold"),
    ]
    if diagnosis.cross_account and not cause.summary.startswith("Cross-account"):
        lines.append(
            paint(
                f"Cross-account: caller in account {diagnosis.principal_account}, key in account "
                f"{diagnosis.key_account}.",
                "yellow",
            )
        )
    if diagnosis.question:
        lines.append(paint("Question: ", "yellow", "bold") + diagnosis.question)
    lines.append(paint("Locks", "bold"))
    lines += [_lock_line(lock, paint) for lock in diagnosis.locks]
    if diagnosis.unseen:
        lines.append(paint("Could not see: ", "yellow") + ", ".join(diagnosis.unseen))
        lines += [paint("  · " + detail, "dim") for detail in diagnosis.unseen_details]
    for remedy in diagnosis.unseen_remedies:
        what = ", ".join(layer_words(item) for item in remedy.what)
        where = remedy.remedy or "Add this statement."
        lines.append(paint(f"  To let the reader role see the {what}: {where}", "yellow"))
        lines += ["      " + line for line in json.dumps(remedy.statement, indent=2).splitlines()]
    if diagnosis.inferred:
        lines.append(paint("Inferred (lower confidence): ", "yellow") + "; ".join(diagnosis.inferred))
    for note in diagnosis.notes:
        if not note.startswith("Cross-account:"):
            lines.append(paint("Note: ", "dim") + note)
    for number, fix in enumerate(diagnosis.fixes, start=1):
        lines += _fix(number, fix, paint)
    if diagnosis.aws_calls:
        trips = f"{diagnosis.round_trips} round trip" + ("" if diagnosis.round_trips == 1 else "s")
        lines.append(paint(f"({diagnosis.aws_calls} AWS calls in {trips})", "dim"))
    return "\n".join(lines)
