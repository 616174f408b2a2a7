"""Shared fixtures.

`moto_world`: one moto server for the whole test session (moto's state is process-wide anyway).
`world`: the same server emptied for this test. Make a fresh `world.session_factory(settings)` per
test: after a reset moto no longer knows credentials issued before it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.demo.world import World


@pytest.fixture(scope="session")
def moto_world() -> Iterator[World]:
    world = World.start()
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture
def world(moto_world: World) -> World:
    moto_world.reset()
    return moto_world
