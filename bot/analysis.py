"""The pipeline without Slack: pasted text → denials → live snapshot per denial → diagnoses.

This is what the worker and `kms-why explain` call. Denials of one paste are collected concurrently
with one shared `SessionFactory`, so credentials assumed for the first are reused by the others.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from bot.diagnosis.diagnose import diagnose, redacted_account
from bot.diagnosis.models import Diagnosis
from bot.errors import UserError
from bot.parse.models import Denial, ParseResult
from bot.settings import Settings
from bot.snapshot import Snapshot, Unseen

if TYPE_CHECKING:
    from bot.aws.sessions import SessionFactory

log = logging.getLogger(__name__)
MAX_PARALLEL_DENIALS = 8


def analyse(
    text: str, settings: Settings, *, request_id: str, sessions: SessionFactory | None = None
) -> list[Diagnosis]:
    """One diagnosis per denial in the text; [] when the text reports no KMS problem."""
    from bot.parse import parse

    return analyse_parsed(parse(text), settings, request_id=request_id, sessions=sessions)


def analyse_parsed(
    parsed: ParseResult, settings: Settings, *, request_id: str, sessions: SessionFactory | None = None
) -> list[Diagnosis]:
    if not parsed.relevant or not parsed.denials:
        return []
    if sessions is None and not all(redacted_account(d) for d in parsed.denials):
        from bot.aws.sessions import SessionFactory

        sessions = SessionFactory(settings)

    def one(denial: Denial) -> Diagnosis:
        return _diagnose_one(denial, settings, request_id=request_id, sessions=sessions)

    if len(parsed.denials) == 1:
        return [one(parsed.denials[0])]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_DENIALS, len(parsed.denials))) as pool:
        return list(pool.map(one, parsed.denials))


def _diagnose_one(
    denial: Denial, settings: Settings, *, request_id: str, sessions: SessionFactory | None
) -> Diagnosis:
    if redacted_account(denial) is not None:
        return diagnose(denial, Snapshot())  # a question back: nothing to read without the account
    from bot.aws.collect import collect

    try:
        snapshot = collect(denial, settings, request_id=request_id, sessions=sessions)
    except UserError:
        raise
    except Exception as problem:
        log.warning("collecting for %s failed: %s", request_id, problem, exc_info=True)
        reason = f"reading the accounts failed: {type(problem).__name__}: {problem}"
        snapshot = Snapshot(
            unseen=tuple(Unseen(what=layer, reason=reason) for layer in ("identity", "key_policy"))
        )
    diagnosis = diagnose(denial, snapshot)
    disagrees = diagnosis.cause.code == "evidence_disagrees"
    if sessions is None:
        return diagnosis
    from bot.aws.follow_up import follow_up, wants_follow_up

    if not wants_follow_up(denial, snapshot, disagrees):
        return diagnosis
    try:
        fuller = follow_up(
            denial, snapshot, settings, request_id=request_id, sessions=sessions, disagrees=disagrees
        )
    except Exception as problem:  # the first answer stands; the follow-up only adds evidence
        log.warning("follow-up reads for %s failed: %s", request_id, problem, exc_info=True)
        return diagnosis
    return diagnose(denial, fuller)
