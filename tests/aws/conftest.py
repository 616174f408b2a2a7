"""Fixtures for the collector tests: a world with kms-why's roles in three accounts, and faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.aws.iam_policies import POLICY_VERSIONS
from bot.aws.org import ORG_CACHE
from bot.aws.principals import GROUP_MEMBERSHIP
from bot.demo.world import World
from tests.aws.faults import Faults

APP = "111122223333"  # the caller's account
DATA = "444455556666"  # the key's account
MGMT = "999988887777"  # the organization's management account
REGION = "ap-northeast-1"


@pytest.fixture(autouse=True)
def _empty_process_caches() -> Iterator[None]:
    # The caches are process-wide by design; moto's reset re-uses ids, so each test starts empty.
    POLICY_VERSIONS.clear()
    ORG_CACHE.clear()
    GROUP_MEMBERSHIP.clear()
    yield
    POLICY_VERSIONS.clear()
    ORG_CACHE.clear()
    GROUP_MEMBERSHIP.clear()


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def accounts(world: World) -> World:
    """The world with the reader and writer roles in the caller's and the key's accounts."""
    world.account(APP).create_service_roles()
    world.account(DATA).create_service_roles()
    return world
