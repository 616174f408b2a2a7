"""SDK and tool wrappers around an error message: who returned it, for which call, with which code.

A paste is cut into error units (one wrapper and what it wraps); each unit's wrappers are read once to
give the context every finding inside it shares. The outermost wrapper names the service that
returned the error, which is the one that called KMS on the user's behalf.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from bot.parse.service_names import operation_service, service_prefix

# Where a new error begins: a blank line, or a line that starts a new SDK/CLI error, Terraform
# diagnostic or CloudTrail record. Units are whole lines, so an exception class printed before the SDK's
# message on the same line (`KMSAccessDeniedException: An error occurred (…)`) stays with it.
_BLANK = re.compile(r"\n[ \t]*\n")
_STARTS = ("rror occur", "rror Occur", "A client error (", "Error: ", '"eventVersion"')
_BOTO = re.compile(
    r"rror [Oo]ccurr?ed \((?P<code>[^()\s]{1,120})\) when calling the (?P<op>[A-Za-z0-9]{1,80}) operation"
)
_BOTO_OLD = re.compile(
    r"A client error \((?P<code>[^()\s]{1,120})\) occurred when calling the "
    r"(?P<op>[A-Za-z0-9]{1,80}) operation"
)
_GO_V2 = re.compile(
    r"operation\s{1,4}error (?P<svc>[A-Za-z0-9][A-Za-z0-9 .-]{0,40}?): (?P<op>[A-Za-z0-9]{1,80}),"
)
_GO_V2_CODE = re.compile(r"api error (?P<code>[A-Za-z0-9_.]{1,120}):")
_JAVA = re.compile(
    r"\(Service: (?P<svc>[^;,()\n]{1,60})[;,] ?Status Code: \d{3}"
    r"(?:[;,] ?Error Code: (?P<code>[^;,()\s]{1,120}))?"
)
_JS_CLIENT = re.compile(r"@aws-sdk/client-(?P<svc>[a-z0-9-]{1,40})")
_RUBY = re.compile(r"Aws::(?P<svc>[A-Za-z0-9]{1,40})::Errors::(?P<code>[A-Za-z0-9]{1,120})")
_PHP = re.compile(r"Error executing \"(?P<op>[A-Za-z0-9]{1,80})\" on \"https://(?P<svc>[a-z0-9-]{1,40})[.]")
_DOTNET = re.compile(r"Amazon\.(?P<svc>[A-Za-z0-9]{1,60})\.Model\.(?P<code>[A-Za-z0-9]{1,120})")
_JAVA_PKG = re.compile(
    r"(?:com\.amazonaws\.services|software\.amazon\.awssdk\.services)\.(?P<svc>[a-z0-9]{1,40})\.model\."
    r"(?P<code>[A-Za-z0-9]{1,120})"
)
_TRAIL_SOURCE = re.compile(r"\"?eventSource\"?\s{0,4}:\s{0,4}\"?(?P<svc>[a-z0-9-]{1,40})\.amazonaws\.com")
_TRAIL_NAME = re.compile(r"\"?eventName\"?\s{0,4}:\s{0,4}\"?(?P<op>[A-Za-z0-9]{1,80})")
_TRAIL_CODE = re.compile(r"\"?errorCode\"?\s{0,4}:\s{0,4}\"?(?P<code>[A-Za-z0-9_.:]{1,120})")
_TRAIL_REGION = re.compile(
    r"\"?awsRegion\"?\s{0,4}:\s{0,4}\"?(?P<region>[a-z]{2}(?:-[a-z]{2,4})?-[a-z]{2,12}-\d)"
)
_INVOKED_BY = re.compile(r"\"?invokedBy\"?\s{0,4}:\s{0,4}\"?(?P<svc>[a-z0-9-]{1,40})\.amazonaws\.com")
_TERRAFORM = re.compile(
    r"Error: (?:error )?(?:creating|reading|updating|deleting|putting|getting|listing|waiting for|"
    r"setting|tagging|associating|encrypting|decrypting|uploading|modifying|enabling|disabling) "
    r"(?P<noun>[A-Z][A-Za-z0-9]{1,20}(?: [A-Z][A-Za-z0-9]{1,20}){0,2})"
)


_S3_IDS = ("host id:", "HostId", "Host Id", "Host ID", "Extended Request ID", "extended request id")


@dataclass
class Context:
    """What the wrappers of one error unit say about the failing call."""

    service: str | None = None
    operation: str | None = None
    error_code: str | None = None
    region: str | None = None
    # True when the only service named is KMS in a Java suffix, i.e. the inner exception of another service.
    inner_kms_only: bool = False


def units(text: str) -> list[tuple[int, int]]:
    """Spans of the error units in `text`, in order, covering it entirely."""
    cuts = {0, len(text)}
    for match in _BLANK.finditer(text):
        # Terraform puts a blank line between a diagnostic's one-line summary and its detail.
        line_start = text.rfind("\n", 0, match.start()) + 1
        if not text.startswith("Error: ", line_start):
            cuts.add(match.end())
    for needle in _STARTS:
        at = text.find(needle)
        while at >= 0:
            line_start = text.rfind("\n", 0, at) + 1
            if needle != "Error: " or not text[line_start:at].strip():
                cuts.add(line_start)
            at = text.find(needle, at + len(needle))
    ordered = sorted(cuts)
    return [(lo, hi) for lo, hi in itertools.pairwise(ordered) if hi > lo]


def _first(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    return pattern.search(text)


def read(text: str) -> Context:
    """The context the wrappers in one unit give; outermost wrapper first."""
    context = Context()
    terraform = _first(_TERRAFORM, text) if "Error: " in text else None
    if terraform is not None:
        context.service = service_prefix(terraform.group("noun"), loose=True)
    boto = None
    if " operation" in text:
        boto = _first(_BOTO, text) or (_first(_BOTO_OLD, text) if "A client error (" in text else None)
    if boto is not None:
        context.operation = boto.group("op")
        context.error_code = boto.group("code")
        # The SDK's own call is the outermost wrapper: an inner Java trace (`…kms.model…`) names KMS,
        # which the service called on the caller's behalf.
        context.service = context.service or operation_service(context.operation)
    go = _first(_GO_V2, text) if "operation" in text else None
    if go is not None:
        context.service = context.service or service_prefix(go.group("svc"))
        context.operation = context.operation or go.group("op")
        code = _GO_V2_CODE.search(text, go.end())
        if code is not None and context.error_code is None:
            context.error_code = code.group("code")
    javas = list(_JAVA.finditer(text)) if "(Service: " in text else []
    if javas:
        # Java appends the outer exception's suffix after the inner one: the last names the outermost.
        outer = [m for m in javas if service_prefix(m.group("svc")) not in (None, "kms")]
        chosen = outer[-1] if outer else javas[-1]
        context.inner_kms_only = context.service is None and not outer
        context.service = context.service or service_prefix(chosen.group("svc"))
        context.error_code = context.error_code or chosen.group("code")
    for needle, pattern in ((".model.", _JAVA_PKG), (".Model.", _DOTNET)):
        package = _first(pattern, text) if needle in text else None
        if package is not None:
            context.inner_kms_only = context.inner_kms_only and service_prefix(package.group("svc")) is None
            context.service = context.service or service_prefix(package.group("svc"))
            context.error_code = context.error_code or package.group("code")
    ruby = _first(_RUBY, text) if "::Errors::" in text else None
    if ruby is not None:
        context.service = context.service or service_prefix(ruby.group("svc"))
        context.error_code = context.error_code or ruby.group("code")
    php = _first(_PHP, text) if "Error executing" in text else None
    if php is not None:
        context.service = context.service or service_prefix(php.group("svc"))
        context.operation = context.operation or php.group("op")
    client = _first(_JS_CLIENT, text) if "@aws-sdk/client-" in text else None
    if client is not None:
        context.service = context.service or service_prefix(client.group("svc"))
    _read_cloudtrail(text, context)
    if context.service is None and any(needle in text for needle in _S3_IDS):
        context.service = "s3"  # only S3 answers with a host id / extended request id
    return context


def _read_cloudtrail(text: str, context: Context) -> None:
    source = _first(_TRAIL_SOURCE, text) if "eventSource" in text else None
    if source is None:
        return
    invoked = _first(_INVOKED_BY, text)
    context.service = context.service or service_prefix((invoked or source).group("svc"))
    name = _first(_TRAIL_NAME, text)
    if name is not None and context.operation is None and invoked is None:
        context.operation = name.group("op")
    code = _first(_TRAIL_CODE, text)
    if code is not None and context.error_code is None:
        context.error_code = code.group("code")
    region = _first(_TRAIL_REGION, text)
    if region is not None:
        context.region = region.group("region")
