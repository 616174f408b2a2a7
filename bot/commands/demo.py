"""`kms-why demo`: the whole pipeline on seeded multi-account scenarios in an in-process moto world.

No network and no credentials: the process gets dummy AWS credentials and every client points at the
local emulator, so nothing can reach a real account.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

_DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_CLEARED_ENV = (
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def _isolate_from_real_aws(endpoint_url: str | None = None) -> None:
    for name in _CLEARED_ENV:
        os.environ.pop(name, None)
    os.environ.update(_DUMMY_ENV)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url


def run(stdout: TextIO, *, as_json: bool) -> None:
    _isolate_from_real_aws()
    from bot.analysis import analyse
    from bot.demo.render import render
    from bot.demo.scenarios import seed
    from bot.demo.world import World
    from bot.settings import Settings

    colour = stdout.isatty() and not as_json
    started = time.monotonic()
    world = World.start()
    try:
        _isolate_from_real_aws(world.endpoint_url)
        seeded, org_reader = seed(world)
        settings = Settings.model_validate(
            {"KMS_WHY_ORG_ROLE_ARN": org_reader, "AWS_DEFAULT_REGION": "us-east-1"}
        )
        sessions = world.session_factory(settings)
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(
                pool.map(
                    lambda item: analyse(
                        item[1][1], settings, request_id=f"demo-{item[0]}", sessions=sessions
                    ),
                    enumerate(seeded, start=1),
                )
            )
        for number, ((scenario, paste), diagnoses) in enumerate(zip(seeded, answers, strict=True), start=1):
            if as_json:
                for diagnosis in diagnoses:
                    stdout.write(
                        json.dumps({"scenario": scenario.name, **diagnosis.public_json()}, ensure_ascii=False)
                        + "\n"
                    )
                continue
            stdout.write(_header(number, len(seeded), scenario.title, colour) + "\n")
            stdout.write("Pasted in Slack:\n")
            for line in textwrap.wrap(paste, 104, break_long_words=True, break_on_hyphens=False):
                stdout.write(f"  │ {line}\n")
            stdout.write("\nkms-why answers in the thread:\n")
            if not diagnoses:
                stdout.write("  (nothing: the paste was not recognised as a KMS error)\n\n")
            for diagnosis in diagnoses:
                stdout.write(textwrap.indent(render(diagnosis, colour=colour), "  ") + "\n\n")
        if not as_json:
            stdout.write(
                f"{len(seeded)} scenarios in {time.monotonic() - started:.1f} s, on moto at "
                f"{world.endpoint_url}; no real AWS account was contacted.\n"
            )
    finally:
        world.stop()
    stdout.flush()


def _header(number: int, total: int, title: str, colour: bool) -> str:
    text = f"━━ {number}/{total} · {title} "
    text += "━" * max(3, 100 - len(text))
    return f"\033[1;35m{text}\033[0m" if colour else text
