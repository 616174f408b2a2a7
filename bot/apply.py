"""An approver's decision on a proposal, carried out by the worker: apply, revert or reject.

The approval rules are checked again here, under the per-key lock, on a freshly read proposal: the
button and the modal were checked by the web process, but two approvers may race, a proposal may
expire while the modal is open, and a job may run twice. Applying goes:
1. refuse unless the live key policy still equals, as parsed JSON, the policy the patch came from;
2. record the intent (and the live policy, for a later revert) before PutKeyPolicy;
3. put the policy with the writer role (lockout safety check on) and read it back;
4. mark the proposal, write the audit record, redraw the thread message.
A retry that finds the intent recorded compares the live policy with the patched one: equal means the
interrupted attempt already applied it, so only step 4 remains and nothing is put twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from bot.approval import (
    DecisionAction,
    Proposal,
    ProposalState,
    approval_refusal,
    is_expired,
    live_policy_matches,
    stale_policy_message,
)
from bot.jobs import DecisionJob, SlackPlace
from bot.ports import ApproverDirectory, DirectoryUnavailable, ThreadReplies, ThreadState, ThreadView
from bot.settings import Settings
from bot.store import AnalysisRecord, AuditRecord, Store

log = logging.getLogger(__name__)


class PutResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    aws_request_id: str
    policy_read_back: dict[str, Any]


class KeyPolicies(Protocol):
    """Reads and writes a key policy with the writer role in the key's account and region."""

    def read(self, key_arn: str, *, request_id: str) -> dict[str, Any]: ...

    def put(
        self, key_arn: str, policy: dict[str, Any], *, expected_sha256: str, request_id: str
    ) -> PutResult: ...


class StalePolicy(Exception):
    """The writer's own re-read found a policy other than the expected one: nothing was put."""


class ReadBackMismatch(Exception):
    """PutKeyPolicy succeeded but reading back gave another policy."""


_DONE_STATE: dict[DecisionAction, ProposalState] = {
    "apply": "applied",
    "reject": "rejected",
    "revert": "reverted",
}
_VERB: dict[DecisionAction, str] = {"apply": "Applied", "reject": "Rejected", "revert": "Reverted"}
_THREAD_STATE: dict[DecisionAction, ThreadState] = {
    "apply": "applied",
    "reject": "rejected",
    "revert": "reverted",
}


def mrkdwn_safe(text: str) -> str:
    """User-written text inside a status line: no `<!channel>`, no links, no mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_permalink(channel_id: str, ts: str | None) -> str:
    if not ts or not ts.replace(".", "").isdigit():  # no message ts (e.g. answered via response_url)
        return f"https://slack.com/archives/{channel_id}"
    return f"https://slack.com/archives/{channel_id}/p{ts.replace('.', '')}"


def unconfirmed_membership_message(problem: DirectoryUnavailable) -> str:
    return (
        "Nothing was applied: kms-why could not confirm that you are in an approver user group "
        f"({problem}), and it does not guess."
    )


class Decisions:
    """Carries out DecisionJobs, checking who may decide again, group membership included.

    Membership of approver user groups is read from `directory` under the per-key lock, right
    before applying: someone removed from a group since the web process checked is refused. With no
    directory, or when Slack does not answer, membership cannot be confirmed and the decision is
    refused (never assumed).
    """

    def __init__(
        self,
        store: Store,
        replies: ThreadReplies,
        key_policies: KeyPolicies,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        lock_seconds: float = 60.0,
        pause_after_put: Callable[[], None] | None = None,
        directory: ApproverDirectory | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._replies = replies
        self._keys = key_policies
        self._settings = settings
        self._clock = clock
        self._lock_seconds = lock_seconds
        self._pause_after_put = pause_after_put  # tests only: the crash window after PutKeyPolicy

    def handle(self, job: DecisionJob) -> str:
        """Carry out the decision; returns the outcome (applied, stale, refused, ...) for metrics."""
        first = self._store.get_proposal(job.proposal_id)
        if first is None:
            log.warning("decision on unknown or long-expired proposal %s", job.proposal_id)
            return "unknown"
        wait = min(30.0, self._lock_seconds)
        with self._store.key_lock(first.key_arn, hold_seconds=self._lock_seconds, wait_seconds=wait):
            proposal = self._store.get_proposal(job.proposal_id) or first
            return self._decide(job, proposal)

    def decided(self, job: DecisionJob) -> bool:
        """True when the proposal is in the state this decision leads to (whoever brought it there).

        False after a refusal, a stale policy or a failure: the decision may then be submitted again.
        """
        proposal = self._store.get_proposal(job.proposal_id)
        return proposal is not None and proposal.state == _DONE_STATE[job.action]

    def report_failure(self, job: DecisionJob, reason: str) -> None:
        """The decision could not be carried out: say so privately and on the thread message."""
        proposal = self._store.get_proposal(job.proposal_id)
        if proposal is None:
            return
        self._replies.tell_privately(self._place(proposal), job.user_id, f"The {job.action} failed: {reason}")
        doing = {"apply": "Applying the patch", "reject": "Rejecting", "revert": "Reverting"}[job.action]
        self._update_thread(proposal, None, f"{doing} failed: {mrkdwn_safe(reason)}")

    def _place(self, proposal: Proposal) -> SlackPlace:
        record = self._store.get_analysis(proposal.analysis_id)
        if record is not None:
            return record.place
        return SlackPlace(
            channel_id=proposal.channel_id, thread_ts=proposal.thread_ts, user_id=proposal.requester_id
        )

    def _decide(self, job: DecisionJob, proposal: Proposal) -> str:
        place = self._place(proposal)
        if proposal.decided_by == job.user_id and proposal.state == _DONE_STATE[job.action]:
            # This very decision already completed (the job ran twice): just make sure the thread says so.
            self._redraw(proposal, job.action, job.user_id, job.reason)
            return "duplicate"
        try:
            members = self._group_membership(job, proposal)
        except DirectoryUnavailable as problem:
            return self._refuse_unconfirmed(job, proposal, place, problem)
        now = self._clock()
        refusal = approval_refusal(
            proposal,
            job.user_id,
            approver_users=self._settings.approver_users,
            approver_group_members=members,
            now=now,
            action=job.action,
        )
        if refusal is not None:
            log.warning(
                "%s of %s by %s refused at the worker: %s",
                job.action,
                proposal.proposal_id,
                job.user_id,
                refusal,
            )
            self._replies.tell_privately(place, job.user_id, refusal)
            if job.action == "apply" and proposal.state == "pending" and is_expired(proposal, now):
                expired = proposal.model_copy(update={"state": "expired"})
                self._store.save_proposal(expired)
                self._update_thread(expired, "expired", "This proposal expired; nothing was applied.")
                return "expired"
            return "refused"
        if job.action == "reject":
            self._finish(job, proposal, aws_request_id="")
            return "rejected"
        return self._put(job, proposal, place)

    def _group_membership(self, job: DecisionJob, proposal: Proposal) -> frozenset[str]:
        """`{user}` when a configured approver group lists the user now, else empty.

        Slack is asked only when the answer can matter: not for a direct approver, nor for the requester
        withdrawing their own proposal. A group Slack will not list matters only when no other group
        lists the user: then DirectoryUnavailable is raised, since the user may well be in it.
        """
        user = job.user_id
        groups = self._settings.approver_groups
        direct = user in self._settings.approver_users
        withdrawing = job.action == "reject" and user == proposal.requester_id
        if not groups or direct or withdrawing:
            return frozenset()
        unanswered: DirectoryUnavailable | None = None
        for group in sorted(groups):
            if self._directory is None:
                raise DirectoryUnavailable(group, "the worker has no Slack user-group directory")
            try:
                if user in self._directory.group_members(group):
                    return frozenset({user})
            except DirectoryUnavailable as problem:
                log.warning("cannot confirm membership of %s: %s", group, problem)
                unanswered = unanswered or problem
        if unanswered is not None:
            raise unanswered
        return frozenset()

    def _refuse_unconfirmed(
        self, job: DecisionJob, proposal: Proposal, place: SlackPlace, problem: DirectoryUnavailable
    ) -> str:
        # The thread message is left as it is: the proposal is still as undecided as it shows.
        log.warning(
            "%s of %s by %s refused at the worker: group membership unconfirmed (%s)",
            job.action,
            proposal.proposal_id,
            job.user_id,
            problem,
        )
        self._replies.tell_privately(place, job.user_id, unconfirmed_membership_message(problem))
        return "unconfirmed"

    def _put(self, job: DecisionJob, proposal: Proposal, place: SlackPlace) -> str:
        revert = job.action == "revert"
        expected = proposal.policy_sha256_after if revert else proposal.policy_sha256_before
        reached = proposal.policy_sha256_before if revert else proposal.policy_sha256_after
        target = proposal.policy_before if revert else proposal.policy_after
        live = self._keys.read(proposal.key_arn, request_id=job.request_id)
        if self._store.get_intent(proposal.proposal_id, job.action) == "started" and live_policy_matches(
            live, reached
        ):
            log.info(
                "%s of %s was interrupted after PutKeyPolicy; finishing it", job.action, proposal.proposal_id
            )
            self._finish(job, proposal, aws_request_id="(recovered after an interrupted attempt)")
            return _DONE_STATE[job.action]
        if not live_policy_matches(live, expected) or target is None:
            return self._stale(job, proposal, place)
        if not revert:
            proposal = proposal.model_copy(update={"policy_before": live})
            self._store.save_proposal(proposal)
        self._store.set_intent(proposal.proposal_id, job.action, "started")
        try:
            result = self._keys.put(
                proposal.key_arn, target, expected_sha256=expected, request_id=job.request_id
            )
        except StalePolicy:
            return self._stale(job, proposal, place)
        if self._pause_after_put is not None:
            self._pause_after_put()
        if not live_policy_matches(result.policy_read_back, reached):
            raise ReadBackMismatch(
                f"the key policy read back after PutKeyPolicy on {proposal.key_arn} differs"
            )
        self._finish(job, proposal, aws_request_id=result.aws_request_id)
        return _DONE_STATE[job.action]

    def _stale(self, job: DecisionJob, proposal: Proposal, place: SlackPlace) -> str:
        message = stale_policy_message(proposal, action=job.action)
        self._replies.tell_privately(place, job.user_id, message)
        self._update_thread(proposal, None, message)
        return "stale"

    def _finish(self, job: DecisionJob, proposal: Proposal, *, aws_request_id: str) -> None:
        now = self._clock()
        done = proposal.model_copy(
            update={
                "state": _DONE_STATE[job.action],
                "decided_by": job.user_id,
                "decided_at": now,
                "reason": job.reason,
                "aws_request_id": aws_request_id or proposal.aws_request_id,
            }
        )
        self._store.save_proposal(done)
        self._store.set_intent(proposal.proposal_id, job.action, "done")
        revert = job.action == "revert"
        self._store.audit(
            AuditRecord(
                action=job.action,
                proposal_id=proposal.proposal_id,
                key_arn=proposal.key_arn,
                requester=proposal.requester_id,
                approver=job.user_id,
                reason=job.reason,
                sha256_before=proposal.policy_sha256_after if revert else proposal.policy_sha256_before,
                sha256_after=proposal.policy_sha256_before if revert else proposal.policy_sha256_after,
                aws_request_id=aws_request_id,
                slack_permalink=slack_permalink(
                    proposal.channel_id, self._store.get_message_ts(proposal.analysis_id)
                ),
                request_id=job.request_id,
                at=now,
            )
        )
        self._redraw(done, job.action, job.user_id, job.reason)

    def _redraw(self, proposal: Proposal, action: DecisionAction, user_id: str, reason: str) -> None:
        line = f"{_VERB[action]} by <@{user_id}>"
        if reason.strip():
            line += f": {mrkdwn_safe(reason.strip())}"
        if action == "apply":
            line += " (key policy applied and read back)"
        self._update_thread(proposal, _THREAD_STATE[action], line)

    def _update_thread(self, proposal: Proposal, state: ThreadState | None, status_line: str) -> None:
        record = self._store.get_analysis(proposal.analysis_id)
        place = self._place(proposal)
        view = (
            record.view
            if record is not None
            else ThreadView(analysis_id=proposal.analysis_id, state="answered")
        )
        changes: dict[str, Any] = {"status_line": status_line}
        if state is not None:
            changes["state"] = state
            changes["revert_proposal_id"] = proposal.proposal_id if state == "applied" else None
        view = view.model_copy(update=changes)
        ts = self._store.get_message_ts(proposal.analysis_id)
        new_ts = self._replies.show(place, view, ts)
        if ts is None:
            self._store.set_message_ts(proposal.analysis_id, new_ts)
        self._store.save_analysis(proposal.analysis_id, AnalysisRecord(place=place, view=view))
