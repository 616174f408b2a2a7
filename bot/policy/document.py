"""Policy documents as pydantic models, read from raw JSON with one-line errors (`PolicyError`).

Every element takes a single value or a list. Condition values are kept as strings (`true`/`false` for
JSON booleans, the decimal text for numbers). Rules, with the AWS behaviour they follow:
- `Effect` is `Allow` or `Deny` (case-sensitive), and every statement must have one.
- Exactly one of `Action`/`NotAction`; at most one of `Resource`/`NotResource` (none means `*`, which
  is how SCP statements without `Resource` read); at most one of `Principal`/`NotPrincipal`.
- `Principal` is `"*"` or a map with `AWS`, `Service`, `Federated` and/or `CanonicalUser`. A plain ARN
  string is read leniently as `{"AWS": …}`.
- `Version` is `2012-10-17`, `2008-10-17` or absent (= 2008-10-17: no policy variables).
- Unknown fields in a policy or statement are errors (AWS rejects them as malformed).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import UserError

VERSIONS = ("2012-10-17", "2008-10-17")
Strings = tuple[str, ...]


class PolicyError(UserError):
    """A malformed policy or request. The message names the policy and the statement, in one line."""


def _scalar(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"{where} must be a string, number or boolean, not {type(value).__name__}")


def _strings(value: object, where: str, *, scalars: bool = False) -> Strings:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif scalars:
            out.append(_scalar(item, where))
        else:
            raise ValueError(f"{where} must be a string or a list of strings")
    return tuple(out)


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    any: bool = False
    aws: Strings = ()
    service: Strings = ()
    federated: Strings = ()
    canonical_user: Strings = ()

    @classmethod
    def from_raw(cls, raw: object, where: str) -> Principal:
        if raw == "*":
            return cls(any=True)
        if isinstance(raw, str):
            return cls(aws=(raw,))
        if not isinstance(raw, dict) or not raw:
            raise ValueError(f'{where} must be "*" or a map of AWS/Service/Federated/CanonicalUser')
        fields = {
            "AWS": "aws",
            "Service": "service",
            "Federated": "federated",
            "CanonicalUser": "canonical_user",
        }
        values: dict[str, Strings] = {}
        for key, value in raw.items():
            if key not in fields:
                raise ValueError(f"{where} has unknown principal type {key!r}")
            values[fields[key]] = _strings(value, f"{where}.{key}")
        return cls(**values)


Conditions = dict[str, dict[str, Strings]]


class Statement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    sid: str | None = Field(default=None, alias="Sid")
    effect: Literal["Allow", "Deny"] = Field(alias="Effect")
    principal: Principal | None = Field(default=None, alias="Principal")
    not_principal: Principal | None = Field(default=None, alias="NotPrincipal")
    action: Strings | None = Field(default=None, alias="Action")
    not_action: Strings | None = Field(default=None, alias="NotAction")
    resource: Strings | None = Field(default=None, alias="Resource")
    not_resource: Strings | None = Field(default=None, alias="NotResource")
    condition: Conditions = Field(default_factory=dict, alias="Condition")

    @field_validator("principal", "not_principal", mode="before")
    @classmethod
    def _principal(cls, value: object) -> object:
        return None if value is None else Principal.from_raw(value, "Principal")

    @field_validator("action", "not_action", "resource", "not_resource", mode="before")
    @classmethod
    def _string_or_list(cls, value: object) -> object:
        return None if value is None else _strings(value, "value")

    @field_validator("condition", mode="before")
    @classmethod
    def _condition(cls, value: object) -> object:
        if not isinstance(value, dict):
            raise ValueError("Condition must be a map of operator to {key: value(s)}")
        block: Conditions = {}
        for operator, entries in value.items():
            if not isinstance(entries, dict):
                raise ValueError(f"Condition operator {operator!r} must map keys to values")
            block[str(operator)] = {
                str(key): _strings(values, f"Condition {operator} {key}", scalars=True)
                for key, values in entries.items()
            }
        return block

    @model_validator(mode="after")
    def _elements(self) -> Statement:
        if (self.action is None) == (self.not_action is None):
            raise ValueError("a statement needs exactly one of Action and NotAction")
        if self.resource is not None and self.not_resource is not None:
            raise ValueError("a statement may not have both Resource and NotResource")
        if self.principal is not None and self.not_principal is not None:
            raise ValueError("a statement may not have both Principal and NotPrincipal")
        return self

    @property
    def label(self) -> str | None:
        return self.sid


class PolicyDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str | None = None
    id: str | None = None
    statements: tuple[Statement, ...] = ()

    @property
    def variables(self) -> bool:
        """Policy variables are substituted only in Version 2012-10-17 documents."""
        return self.version == "2012-10-17"


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if first["type"] == "missing":
        return f"missing {where}"
    return f"{where}: {message}" if where else message


def statement_label(index: int, raw: object) -> str:
    sid = raw.get("Sid") if isinstance(raw, dict) else None
    return f"statement {index} (Sid {sid!r})" if isinstance(sid, str) and sid else f"statement {index}"


def parse_statement(raw: object, policy: str, index: int) -> Statement:
    where = f"{policy} {statement_label(index, raw)}"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: a statement must be a JSON object")
    if "Effect" not in raw:
        raise PolicyError(f"{where}: statement has no Effect")
    try:
        return Statement.model_validate(raw)
    except ValidationError as error:
        raise PolicyError(f"{where}: {_describe(error)}") from None


def parse_policy(raw: Any, policy: str) -> PolicyDocument:
    """Read one policy JSON object; `policy` names it in errors (e.g. `key_policy`, `scps[0][1]`)."""
    if not isinstance(raw, dict):
        raise PolicyError(f"{policy}: a policy must be a JSON object")
    unknown = sorted(set(raw) - {"Version", "Id", "Statement"})
    if unknown:
        raise PolicyError(f"{policy}: unknown field {unknown[0]!r}")
    version = raw.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError(f"{policy}: unsupported Version {version!r} (expected 2012-10-17 or 2008-10-17)")
    body = raw.get("Statement", [])
    items = body if isinstance(body, list) else [body]
    statements = tuple(parse_statement(item, policy, index) for index, item in enumerate(items))
    identifier = raw.get("Id")
    return PolicyDocument(
        version=version, id=identifier if isinstance(identifier, str) else None, statements=statements
    )
