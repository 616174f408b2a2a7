"""Sessions into the accounts an analysis involves: the reader role (and the writer role to apply).

One `SessionFactory` per process: it caches each role's temporary credentials until shortly before
they expire, so a warm analysis assumes nothing. Cached credentials keep the session name of the
request that first assumed them (CloudTrail shows that one); the writer role is assumed afresh for
every apply so that each change is traceable to its request. Clients are made here only, with
botocore's adaptive retry mode, and every call they make is counted by `bot.aws.trace`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.trace import gather, record_call
from bot.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail.client import CloudTrailClient
    from mypy_boto3_iam.client import IAMClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_organizations.client import OrganizationsClient
    from mypy_boto3_sts.client import STSClient

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=20,
    max_pool_connections=32,
)
REFRESH_MARGIN = timedelta(minutes=5)
# Called with each new client (its AccountSession, the service name, the client): tests attach stubs here.
ClientHook = Callable[["AccountSession", str, Any], None]


class SerialLoader(botocore.loaders.Loader):
    """A loader whose cached reads run one at a time.

    botocore caches each model file per loader without a lock: when a dozen threads create their first
    clients at once, every one of them misses and parses the same large JSON files (endpoints, service
    models), which cost more than all the AWS calls of a warm analysis. Serialised, the first reads and
    the rest hit the cache.
    """

    _lock = threading.RLock()

    def list_available_services(self, type_name: str) -> Any:
        with self._lock:
            return super().list_available_services(type_name)

    def determine_latest_version(self, service_name: str, type_name: str) -> Any:
        with self._lock:
            return super().determine_latest_version(service_name, type_name)

    def list_api_versions(self, service_name: str, type_name: str) -> Any:
        with self._lock:
            return super().list_api_versions(service_name, type_name)

    def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        with self._lock:
            return super().load_service_model(service_name, type_name, api_version)

    def load_data_with_path(self, name: str) -> Any:
        with self._lock:
            return super().load_data_with_path(name)


@functools.cache
def shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for the bot's sessions (it only reads botocore's model files).

    Only botocore sessions use it: boto3 appends its own data path to a session's loader each time a
    `boto3.Session` is made, which would grow a shared one without end.
    """
    return SerialLoader()


def role_session_name(request_id: str) -> str:
    """`kms-why-<request id>`, reduced to what STS accepts (2–64 chars of `[\\w+=,.@-]`)."""
    cleaned = re.sub(r"[^\w+=,.@-]", "-", request_id)
    return f"kms-why-{cleaned}"[:64]


def role_arn(account: str, role_name: str) -> str:
    return role_name if role_name.startswith("arn:") else f"arn:aws:iam::{account}:role/{role_name}"


class AssumeRoleError(Exception):
    """The role could not be assumed: `code` is AWS's error code (`AccessDenied`, …) or `NoCredentials`."""

    def __init__(self, role_arn: str, code: str, message: str) -> None:
        super().__init__(f"could not assume {role_arn}: {code}: {message}")
        self.role_arn = role_arn
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Credentials:
    access_key: str
    secret_key: str
    token: str
    expiration: datetime


class AccountSession:
    """Clients for one account through one role's temporary credentials (thread-safe)."""

    def __init__(self, account: str, role_arn: str, session: botocore.session.Session,
                 expiration: datetime | None, factory: SessionFactory,
                 credentials: _Credentials | None = None) -> None:
        self.account = account
        self.role_arn = role_arn
        self.expiration = expiration
        self._session = session
        self._credentials = credentials  # None: the session's own (the ambient identity)
        self._factory = factory
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, service: str, region: str | None) -> Any:
        where = (service, region or self._factory.settings.aws_default_region)
        keys: dict[str, Any] = {}
        if self._credentials is not None:
            keys = {"aws_access_key_id": self._credentials.access_key,
                    "aws_secret_access_key": self._credentials.secret_key,
                    "aws_session_token": self._credentials.token}
        # botocore sessions are not thread-safe (their clients are), and the assumed roles share one.
        with self._factory.client_lock:
            client = self._clients.get(where)
            if client is None:
                client = self._session.create_client(
                    service, region_name=where[1], endpoint_url=self._factory.endpoint_url,
                    config=CLIENT_CONFIG, **keys,
                )
                self._clients[where] = client
                if self._factory.on_client is not None:
                    self._factory.on_client(self, service, client)
        return client

    def kms(self, region: str) -> KMSClient:
        client: KMSClient = self._client("kms", region)
        return client

    def iam(self) -> IAMClient:
        client: IAMClient = self._client("iam", None)
        return client

    def cloudtrail(self, region: str) -> CloudTrailClient:
        client: CloudTrailClient = self._client("cloudtrail", region)
        return client

    def ec2(self, region: str) -> Any:
        # Typed loosely: the EC2 stubs are a large package for the one call the bot makes.
        return self._client("ec2", region)

    def organizations(self) -> OrganizationsClient:
        client: OrganizationsClient = self._client("organizations", None)
        return client


class SessionFactory:
    """Assumes kms-why's roles from the ambient (base) credentials and caches the reader sessions."""

    def __init__(self, settings: Settings, *, base_session: boto3.Session | None = None,
                 endpoint_url: str | None = None, on_client: ClientHook | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.endpoint_url = endpoint_url  # None: botocore honours AWS_ENDPOINT_URL itself
        self.on_client = on_client
        self._given_base = base_session
        self._now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._role_locks: dict[tuple[str, str | None], threading.Lock] = {}
        self._cache: dict[tuple[str, str | None], AccountSession] = {}
        self._base: AccountSession | None = None
        self._assumed_core: botocore.session.Session | None = None
        self._identity: str | None = None
        self.client_lock = threading.RLock()

    def _new_session(self) -> botocore.session.Session:
        """A botocore session counting its calls: the ambient (base) identity's, or the given one's."""
        if self._given_base is not None:
            core: botocore.session.Session = self._given_base._session
        else:
            core = self._core()
        core.register("before-parameter-build", record_call)
        return core

    def _core(self) -> botocore.session.Session:
        core = botocore.session.get_session()
        # Sharing the loader spares every new session from parsing the service models again.
        core.register_component("data_loader", shared_loader())
        core.set_config_variable("region", self.settings.aws_default_region)
        return core

    def _assumed_session(self) -> botocore.session.Session:
        """One botocore session for every assumed role: each client gets its role's keys explicitly.

        A session per role would rebuild the event handlers, endpoint resolver and service models each
        time; shared, a cold analysis creates only its clients.
        """
        with self.client_lock:
            if self._assumed_core is None:
                core = self._core()
                core.register("before-parameter-build", record_call)
                self._assumed_core = core
            return self._assumed_core

    def base(self) -> AccountSession:
        """The ambient identity (the bot's own): only STS is called with it."""
        if self._base is None:
            session = self._new_session()
            with self._lock:
                if self._base is None:
                    self._base = AccountSession("", "", session, None, self)
        return self._base

    def _assume(self, arn: str, request_id: str, external_id: str | None) -> AccountSession:
        kwargs: dict[str, Any] = {"ExternalId": external_id} if external_id else {}
        try:
            sts: STSClient = self.base()._client("sts", self.settings.aws_default_region)
            creds = sts.assume_role(RoleArn=arn, RoleSessionName=role_session_name(request_id), **kwargs)[
                "Credentials"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AssumeRoleError(arn, error.get("Code", "Unknown"), error.get("Message", str(exc))) from exc
        except BotoCoreError as exc:
            code = type(exc).__name__.removesuffix("Error")
            raise AssumeRoleError(arn, code, str(exc)) from exc
        expiration = creds["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        keys = _Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], expiration)
        return AccountSession(arn.split(":")[4], arn, self._assumed_session(), expiration, self, keys)

    def _cached(self, arn: str, request_id: str) -> AccountSession:
        key = (arn, self.settings.reader_external_id)
        with self._lock:
            role_lock = self._role_locks.setdefault(key, threading.Lock())
        with role_lock:  # one AssumeRole per role even when many threads ask at once
            cached = self._cache.get(key)
            if cached is not None and cached.expiration is not None \
                    and cached.expiration - REFRESH_MARGIN > self._now():
                return cached
            fresh = self._assume(arn, request_id, self.settings.reader_external_id)
            self._cache[key] = fresh
            return fresh

    def reader(self, account: str, request_id: str) -> AccountSession:
        """The reader role in `account` (cached). Raises `AssumeRoleError`."""
        return self._cached(role_arn(account, self.settings.reader_role), request_id)

    def org_reader(self, request_id: str) -> AccountSession | None:
        """The role `KMS_WHY_ORG_ROLE_ARN` names (cached), or None when it is not set."""
        arn = self.settings.org_role_arn
        return self._cached(arn, request_id) if arn else None

    def writer(self, account: str, request_id: str) -> AccountSession:
        """The writer role in `account`, assumed afresh for this request. Raises `AssumeRoleError`."""
        return self._assume(role_arn(account, self.settings.writer_role), request_id,
                            self.settings.reader_external_id)

    def readers(self, accounts: Iterable[str], request_id: str
                ) -> dict[str, AccountSession | AssumeRoleError]:
        """The reader role in each account, assumed in parallel; failures are returned, not raised."""
        wanted = sorted(set(accounts))

        def one(account: str) -> Callable[[], AccountSession | AssumeRoleError]:
            def run() -> AccountSession | AssumeRoleError:
                try:
                    return self.reader(account, request_id)
                except AssumeRoleError as exc:
                    return exc
            return run

        with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
            return dict(zip(wanted, gather(pool, [one(a) for a in wanted]), strict=True))

    def base_identity_arn(self) -> str | None:
        """The bot's own identity as a principal ARN (a role for a session), for remedy statements."""
        with self._lock:
            if self._identity is not None:
                return self._identity
        try:
            sts: STSClient = self.base()._client("sts", self.settings.aws_default_region)
            arn = sts.get_caller_identity()["Arn"]
        except (ClientError, BotoCoreError):
            return None
        match = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", arn)
        identity = f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else arn
        with self._lock:
            self._identity = identity
        return identity
