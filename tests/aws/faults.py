"""Injected AWS failures and call recording for collector tests.

Moto does not evaluate IAM or trust policies, so a denied read is injected: a `before-call` handler
on the client answers the chosen operation with an error, the way botocore's Stubber does, while
every other operation still reaches moto. `Faults.hook` is the `on_client` of a `SessionFactory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.stub import Stubber

from bot.aws.sessions import AccountSession


@dataclass(frozen=True)
class _Rule:
    service: str
    operation: str
    code: str
    message: str
    role_name: str | None  # only clients of this role (None: any)
    when: Callable[[dict[str, Any]], bool] | None  # on the call's parameters


@dataclass
class Faults:
    rules: list[_Rule] = field(default_factory=list)
    stubs: dict[tuple[str, str], Stubber] = field(default_factory=dict)
    stub_with: dict[str, Callable[[Stubber], None]] = field(default_factory=dict)
    operations: list[tuple[str, str]] = field(default_factory=list)  # (role ARN, iam action) of every call

    def fail(
        self,
        service: str,
        operation: str,
        *,
        code: str = "AccessDeniedException",
        message: str = "injected denial",
        role_name: str | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.rules.append(_Rule(service, operation, code, message, role_name, when))

    def stub(self, service: str, setup: Callable[[Stubber], None]) -> None:
        """Every client of `service` gets a Stubber (activated) prepared by `setup`."""
        self.stub_with[service] = setup

    def hook(self, session: AccountSession, service: str, client: Any) -> None:
        role = session.role_arn

        def remember(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            context["test_params"] = params
            self.operations.append((role, f"{model.service_model.signing_name}:{model.name}"))

        client.meta.events.register("before-parameter-build", remember)
        for rule in self.rules:
            if rule.service != service or (rule.role_name and not role.endswith(f"/{rule.role_name}")):
                continue
            client.meta.events.register(f"before-call.{service}.{rule.operation}", _answer(rule))
        if service in self.stub_with:
            stubber = Stubber(client)
            self.stub_with[service](stubber)
            stubber.activate()
            self.stubs[(role, service)] = stubber


def _answer(rule: _Rule) -> Callable[..., Any]:
    def handler(context: dict[str, Any], **_: Any) -> Any:
        if rule.when is not None and not rule.when(context.get("test_params", {})):
            return None
        response = AWSResponse(
            url="https://injected.invalid/", status_code=400, headers=HTTPHeaders(), raw=None
        )
        parsed = {
            "Error": {"Code": rule.code, "Message": rule.message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return response, parsed

    return handler
