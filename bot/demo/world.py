"""An in-process multi-account AWS world on moto's server, for the demo and the tests.

    world = World.start()
    prod = world.account("111122223333")
    prod.create_service_roles()                       # kms-why-reader / kms-why-writer
    role = prod.create_role("MyRole", managed_policies=[ADMINISTRATOR_ACCESS])
    key = prod.create_key(policy={...}, region="ap-northeast-1")
    settings = world.settings(org_role_arn=...)       # Settings pointing at this world
    sessions = world.session_factory(settings)        # what the collectors use
    ...
    world.stop()

Tests get a running world from the `world` fixture (tests/conftest.py): one server per test session,
emptied for each test. Seeding may run in threads (the helpers lock what boto3 does not).

Acting as an account is a real `AssumeRole` into it: moto files the temporary credentials under the
role's account, so no process-wide `MOTO_ACCOUNT_ID` is needed. The bot's own (ambient) identity is
moto's default account, `BASE_ACCOUNT`.

Moto keeps its state in process-wide backends, which every server in the process shares: keep one
World per process and call `reset()` to start from an empty world. A few things moto cannot do
through its API are set directly in its backends (the server runs in this process): account ids of
organization members, AWS managed keys, AWS managed IAM policies.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import threading
import urllib.request
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3
import botocore.loaders
import botocore.session
from moto.server import ThreadedMotoServer

from bot.aws.actions import ORG_ACTIONS, READER_ACTIONS, WRITER_ACTIONS
from bot.aws.sessions import SerialLoader

if TYPE_CHECKING:
    from mypy_boto3_iam.client import IAMClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_organizations.client import OrganizationsClient
    from mypy_boto3_organizations.literals import PolicyTypeType

    from bot.aws.sessions import SessionFactory
    from bot.settings import Settings

Json = dict[str, Any]

DEFAULT_REGION = "us-east-1"
BASE_ACCOUNT = "123456789012"  # moto's account for credentials it did not issue: the bot's own
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
ORG_READER_ROLE = "kms-why-org-reader"
_ADMIN_ROLE = "world-admin"  # never created: moto lets anyone assume any role ARN
_ORG_ID_LOCK = threading.Lock()


def trust_policy(*accounts: str) -> Json:
    """A role trust policy letting the given accounts' IAM principals assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def allow_policy(actions: Iterable[str], resource: str = "*") -> Json:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": resource}],
    }


def default_key_policy(account: str) -> Json:
    """The key policy KMS gives a key created without one: full delegation to the account's IAM."""
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def aws_managed_key_policy(account: str, service: str, region: str) -> Json:
    """The shape of the policy AWS gives `aws/<service>`: the account's own callers, via the service."""
    return {
        "Version": "2012-10-17",
        "Id": f"auto-{service}-2",
        "Statement": [
            {
                "Sid": f"Allow access through {service} for all principals in the account that are "
                       "authorized",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": account,
                        "kms:ViaService": f"{service}.{region}.amazonaws.com",
                    }
                },
            },
            {
                "Sid": "Allow direct access to key metadata to the account",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
            },
        ],
    }


def _poke(host: str, port: int) -> None:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        pass


def _key_id(key_arn: str) -> str:
    return key_arn.rsplit("/", 1)[1]


def _region_of(arn: str) -> str:
    return arn.split(":")[3]


@functools.cache
def _aws_managed_policies(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(text)
    return parsed


class World:
    """A running moto server plus helpers to act as any account. Create it with `World.start()`."""

    def __init__(self, server: ThreadedMotoServer, endpoint_url: str, *, region: str,
                 reader_role: str, writer_role: str) -> None:
        self._server = server
        self.endpoint_url = endpoint_url
        self.region = region
        self.reader_role = reader_role
        self.writer_role = writer_role
        self._accounts: dict[str, WorldAccount] = {}
        self._organization: WorldOrganization | None = None
        self._lock = threading.RLock()  # seeding often runs in threads
        # The world's own (boto3 adds to it per session), serialised like the bot's: seeding is threaded.
        self._loader: botocore.loaders.Loader = SerialLoader()

    @classmethod
    def start(cls, *, region: str = DEFAULT_REGION, reader_role: str = "kms-why-reader",
              writer_role: str = "kms-why-writer") -> World:
        """Start moto's server on a free 127.0.0.1 port (chosen by the OS)."""
        # werkzeug logs every request on stderr: keep the demo's terminal output readable.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(server, f"http://{host}:{port}", region=region, reader_role=reader_role,
                   writer_role=writer_role)

    def stop(self) -> None:
        # The server notices a shutdown request only between select() calls, every 0.5 s; a connection
        # wakes it at once, so the demo does not end on an idle half second.
        host, port = self.endpoint_url.removeprefix("http://").rsplit(":", 1)
        waker = threading.Timer(0.01, _poke, (host, int(port)))
        waker.start()
        try:
            self._server.stop()
        finally:
            waker.cancel()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Empty every moto backend (all accounts, all services): a fresh world on the same server."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        from moto.organizations.models import organizations_backends

        # Moto's reset leaves the member → management map behind; former members would point at
        # an organization that no longer exists.
        organizations_backends.master_accounts.clear()
        self._accounts.clear()
        self._organization = None

    def environ(self) -> dict[str, str]:
        """Environment for a process (or `Settings`) that should use this world as its AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "KMS_WHY_READER_ROLE": self.reader_role,
            "KMS_WHY_WRITER_ROLE": self.writer_role,
        }

    def _botocore_session(self) -> botocore.session.Session:
        # One loader for every session: parsing the service models once keeps a world fast to seed.
        core = botocore.session.get_session()
        core.register_component("data_loader", self._loader)
        return core

    def base_session(self, region: str | None = None) -> boto3.Session:
        """The bot's own identity (`BASE_ACCOUNT`): the ambient credentials of a real deployment."""
        return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                             region_name=region or self.region, botocore_session=self._botocore_session())

    def session_factory(self, settings: Settings, **options: Any) -> SessionFactory:
        """The collectors' session factory, pointed at this world with the base identity.

        `options` go to `SessionFactory` (`on_client`, `now`).
        """
        from bot.aws.sessions import SessionFactory

        return SessionFactory(settings, base_session=self.base_session(), endpoint_url=self.endpoint_url,
                              **options)

    def settings(self, **overrides: Any) -> Settings:
        """Settings for a kms-why running against this world (`overrides` by field name)."""
        from bot.settings import Settings

        return Settings.model_validate(self.environ()).model_copy(update=overrides)

    def account(self, account_id: str) -> WorldAccount:
        with self._lock:
            if account_id not in self._accounts:
                self._accounts[account_id] = WorldAccount(self, account_id)
            return self._accounts[account_id]

    def organization(self, management_account: str) -> WorldOrganization:
        """The organization managed by `management_account`, created (feature set ALL) on first use."""
        with self._lock:
            if self._organization is None:
                self._organization = WorldOrganization(self, self.account(management_account))
            elif self._organization.management_account.id != management_account:
                raise ValueError("this world already has an organization with another management account")
            return self._organization


class WorldAccount:
    """One account of the world; every call runs as an administrator of this account."""

    def __init__(self, world: World, account_id: str) -> None:
        self.world = world
        self.id = account_id
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; their clients are

    @cached_property
    def session(self) -> boto3.Session:
        creds = self.world.base_session().client("sts", endpoint_url=self.world.endpoint_url).assume_role(
            RoleArn=f"arn:aws:iam::{self.id}:role/{_ADMIN_ROLE}", RoleSessionName="world"
        )["Credentials"]
        return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                             aws_secret_access_key=creds["SecretAccessKey"],
                             aws_session_token=creds["SessionToken"], region_name=self.world.region,
                             botocore_session=self.world._botocore_session())

    def _client(self, service: str, region: str | None) -> Any:
        where = (service, region or self.world.region)
        with self._lock:
            if where not in self._clients:
                self._clients[where] = self.session.client(
                    service, region_name=where[1], endpoint_url=self.world.endpoint_url  # type: ignore[call-overload]
                )
            return self._clients[where]

    @property
    def iam(self) -> IAMClient:
        client: IAMClient = self._client("iam", None)
        return client

    def kms(self, region: str | None = None) -> KMSClient:
        client: KMSClient = self._client("kms", region)
        return client

    @property
    def organizations(self) -> OrganizationsClient:
        client: OrganizationsClient = self._client("organizations", None)
        return client

    # --- ARNs ------------------------------------------------------------------------------------

    def role_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.id}:role{path}{name}"

    def session_arn(self, role_name: str, session_name: str) -> str:
        """The caller ARN AWS prints for a session of the role (no path: AWS drops it there)."""
        return f"arn:aws:sts::{self.id}:assumed-role/{role_name}/{session_name}"

    # --- IAM -------------------------------------------------------------------------------------

    def create_policy(self, name: str, document: Json, *, path: str = "/") -> str:
        """A customer managed policy; returns its ARN."""
        return self.iam.create_policy(PolicyName=name, Path=path, PolicyDocument=json.dumps(document))[
            "Policy"]["Arn"]

    def _ensure_managed_policy(self, arn: str) -> None:
        # Moto loads AWS managed policies only all at once for every account (slow); add the ones used.
        if not arn.startswith("arn:aws:iam::aws:policy/"):
            return
        from moto.iam.aws_managed_policies import aws_managed_policies_data
        from moto.iam.models import AWSManagedPolicy, iam_backends

        backend = iam_backends[self.id]["aws"]
        if arn in backend.managed_policies:
            return
        name = arn.rsplit("/", 1)[1]
        data = _aws_managed_policies(aws_managed_policies_data).get(name)
        if data is None:
            raise ValueError(f"moto knows no AWS managed policy named {name}")
        backend.managed_policies[arn] = AWSManagedPolicy.from_data(name, self.id, "us-east-1", data)

    def create_role(self, name: str, *, path: str = "/", trust: Json | None = None,
                    managed_policies: Iterable[str] = (), inline_policies: Mapping[str, Json] | None = None,
                    boundary: str | None = None, tags: Mapping[str, str] | None = None,
                    description: str = "") -> str:
        """A role with its policies attached; `boundary` is a managed policy ARN. Returns the role ARN."""
        kwargs: dict[str, Any] = {}
        if boundary:
            self._ensure_managed_policy(boundary)
            kwargs["PermissionsBoundary"] = boundary
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        arn = self.iam.create_role(
            RoleName=name, Path=path, Description=description,
            AssumeRolePolicyDocument=json.dumps(trust or trust_policy(self.id)), **kwargs,
        )["Role"]["Arn"]
        for policy_arn in managed_policies:
            self._ensure_managed_policy(policy_arn)
            self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        for policy_name, document in (inline_policies or {}).items():
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                     PolicyDocument=json.dumps(document))
        return arn

    def create_group(self, name: str, *, managed_policies: Iterable[str] = (),
                     inline_policies: Mapping[str, Json] | None = None) -> str:
        arn = self.iam.create_group(GroupName=name)["Group"]["Arn"]
        for policy_arn in managed_policies:
            self._ensure_managed_policy(policy_arn)
            self.iam.attach_group_policy(GroupName=name, PolicyArn=policy_arn)
        for policy_name, document in (inline_policies or {}).items():
            self.iam.put_group_policy(GroupName=name, PolicyName=policy_name,
                                     PolicyDocument=json.dumps(document))
        return arn

    def create_user(self, name: str, *, path: str = "/", groups: Iterable[str] = (),
                    managed_policies: Iterable[str] = (), inline_policies: Mapping[str, Json] | None = None,
                    tags: Mapping[str, str] | None = None) -> str:
        """A user in existing groups (by name). Moto keeps no user permissions boundary."""
        kwargs: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
        arn = self.iam.create_user(UserName=name, Path=path, **kwargs)["User"]["Arn"]
        for group in groups:
            self.iam.add_user_to_group(GroupName=group, UserName=name)
        for policy_arn in managed_policies:
            self._ensure_managed_policy(policy_arn)
            self.iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
        for policy_name, document in (inline_policies or {}).items():
            self.iam.put_user_policy(UserName=name, PolicyName=policy_name,
                                     PolicyDocument=json.dumps(document))
        return arn

    def create_service_roles(self, trusted_account: str = BASE_ACCOUNT) -> tuple[str, str]:
        """kms-why's reader and writer roles, trusting the bot's account. Returns (reader, writer) ARNs."""
        trust = trust_policy(trusted_account)
        reader = self.create_role(self.world.reader_role, trust=trust,
                                  inline_policies={"kms-why-read": allow_policy(READER_ACTIONS)})
        writer = self.create_role(self.world.writer_role, trust=trust,
                                  inline_policies={"kms-why-write": allow_policy(WRITER_ACTIONS)})
        return reader, writer

    # --- KMS -------------------------------------------------------------------------------------

    def create_key(self, policy: Json | None = None, *, region: str | None = None, description: str = "",
                   tags: Mapping[str, str] | None = None, multi_region: bool = False,
                   aliases: Iterable[str] = ()) -> str:
        """A customer managed symmetric key (`policy` None: the default policy). Returns the key ARN."""
        kms = self.kms(region)
        kwargs: dict[str, Any] = {}
        if tags:
            kwargs["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
        arn = kms.create_key(
            Policy=json.dumps(policy or default_key_policy(self.id)), Description=description,
            MultiRegion=multi_region, **kwargs,
        )["KeyMetadata"]["Arn"]
        for alias in aliases:
            self.create_alias(alias, arn)
        return arn

    def create_aws_managed_key(self, service: str, *, region: str | None = None) -> str:
        """The `aws/<service>` key with an AWS managed key's policy and `KeyManager: AWS`."""
        from moto.kms.models import kms_backends

        region = region or self.world.region
        arn = self.kms(region).describe_key(KeyId=f"alias/aws/{service}")["KeyMetadata"]["Arn"]
        key = kms_backends[self.id][region].keys[arn.rsplit("/", 1)[1]]
        key.key_manager = "AWS"
        key.policy = json.dumps(aws_managed_key_policy(self.id, service, region))
        return arn

    def create_alias(self, alias: str, key_arn: str) -> str:
        """Returns the alias ARN; `alias` may be given with or without `alias/`."""
        name = alias if alias.startswith("alias/") else f"alias/{alias}"
        self.kms(_region_of(key_arn)).create_alias(AliasName=name, TargetKeyId=key_arn)
        return f"arn:aws:kms:{_region_of(key_arn)}:{self.id}:{name}"

    def create_grant(self, key_arn: str, grantee: str, operations: Iterable[str], *,
                     constraints: Json | None = None, retiring_principal: str | None = None,
                     name: str | None = None) -> str:
        """A grant on the key (operations as KMS names them: `Decrypt`, …). Returns the grant id."""
        kwargs: dict[str, Any] = {}
        if constraints:
            kwargs["Constraints"] = constraints
        if retiring_principal:
            kwargs["RetiringPrincipal"] = retiring_principal
        if name:
            kwargs["Name"] = name
        return self.kms(_region_of(key_arn)).create_grant(
            KeyId=key_arn, GranteePrincipal=grantee, Operations=list(operations), **kwargs  # type: ignore[arg-type]
        )["GrantId"]

    def create_kms_endpoint(self, policy: Json | None = None, *, region: str | None = None) -> str:
        """An interface VPC endpoint for KMS (in a new VPC) with `policy`; returns its `vpce-…` id."""
        where = region or self.world.region
        ec2 = self._client("ec2", where)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        extra = {"PolicyDocument": json.dumps(policy)} if policy is not None else {}
        endpoint = ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName=f"com.amazonaws.{where}.kms", VpcEndpointType="Interface", **extra
        )
        return str(endpoint["VpcEndpoint"]["VpcEndpointId"])

    def disable_key(self, key_arn: str) -> None:
        self.kms(_region_of(key_arn)).disable_key(KeyId=_key_id(key_arn))  # moto takes only the id here

    def schedule_key_deletion(self, key_arn: str, days: int = 7) -> None:
        self.kms(_region_of(key_arn)).schedule_key_deletion(KeyId=_key_id(key_arn), PendingWindowInDays=days)

    def key_policy(self, key_arn: str) -> Json:
        text = self.kms(_region_of(key_arn)).get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        document: Json = json.loads(text)
        return document

    def put_key_policy(self, key_arn: str, policy: Json) -> None:
        self.kms(_region_of(key_arn)).put_key_policy(KeyId=key_arn, PolicyName="default",
                                                     Policy=json.dumps(policy))


class WorldOrganization:
    """An AWS Organization (all features, SCPs and RCPs enabled) managed by one world account."""

    FULL_ACCESS_SCP = "p-FullAWSAccess"  # attached everywhere by default, as in AWS
    FULL_ACCESS_RCP = "p-RCPFullAWSAccess"

    def __init__(self, world: World, management_account: WorldAccount) -> None:
        self.world = world
        self.management_account = management_account
        orgs = management_account.organizations
        self.id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        self.root_id = orgs.list_roots()["Roots"][0]["Id"]
        policy_types: tuple[PolicyTypeType, ...] = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
        for policy_type in policy_types:
            with contextlib.suppress(orgs.exceptions.PolicyTypeAlreadyEnabledException):
                orgs.enable_policy_type(RootId=self.root_id, PolicyType=policy_type)

    @property
    def _orgs(self) -> OrganizationsClient:
        return self.management_account.organizations

    def create_ou(self, name: str, parent_id: str | None = None) -> str:
        """An OU under `parent_id` (default the root); returns its id."""
        return self._orgs.create_organizational_unit(ParentId=parent_id or self.root_id, Name=name)[
            "OrganizationalUnit"]["Id"]

    def add_account(self, account_id: str, *, ou_id: str | None = None, name: str | None = None) -> None:
        """Make an existing world account a member (moto can only create members, with random ids)."""
        from moto.organizations import utils as org_utils

        with _ORG_ID_LOCK, mock.patch.object(org_utils, "make_random_account_id", return_value=account_id):
            self._orgs.create_account(AccountName=name or f"account-{account_id}",
                                      Email=f"aws+{account_id}@example.com")
        if ou_id:
            self.move_account(account_id, ou_id)

    def move_account(self, account_id: str, ou_id: str) -> None:
        source = self._orgs.list_parents(ChildId=account_id)["Parents"][0]["Id"]
        self._orgs.move_account(AccountId=account_id, SourceParentId=source, DestinationParentId=ou_id)

    def _create_policy(self, kind: str, name: str, document: Json, targets: Iterable[str]) -> str:
        policy_id = self._orgs.create_policy(
            Name=name, Description=name, Type=kind, Content=json.dumps(document)  # type: ignore[arg-type]
        )["Policy"]["PolicySummary"]["Id"]
        for target in targets:
            self.attach(policy_id, target)
        return policy_id

    def create_scp(self, name: str, document: Json, targets: Iterable[str] = ()) -> str:
        """An SCP attached to each target (root, OU or account id); returns the policy id."""
        return self._create_policy("SERVICE_CONTROL_POLICY", name, document, targets)

    def create_rcp(self, name: str, document: Json, targets: Iterable[str] = ()) -> str:
        """An RCP attached to each target (root, OU or account id); returns the policy id."""
        return self._create_policy("RESOURCE_CONTROL_POLICY", name, document, targets)

    def attach(self, policy_id: str, target_id: str) -> None:
        self._orgs.attach_policy(PolicyId=policy_id, TargetId=target_id)

    def detach(self, policy_id: str, target_id: str) -> None:
        self._orgs.detach_policy(PolicyId=policy_id, TargetId=target_id)

    def create_org_reader_role(self, trusted_account: str = BASE_ACCOUNT, name: str = ORG_READER_ROLE) -> str:
        """The role `KMS_WHY_ORG_ROLE_ARN` names, in the management account. Returns its ARN."""
        return self.management_account.create_role(
            name, trust=trust_policy(trusted_account),
            inline_policies={"kms-why-org-read": allow_policy(ORG_ACTIONS)},
        )
