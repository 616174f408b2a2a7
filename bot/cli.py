"""`kms-why`: the composition root. Parses arguments, builds settings and wires the processes.

This is the only module of `bot/` that imports `handlers/`. Command bodies live in `bot/commands/`
and are imported lazily, so `kms-why parse` does not pay for boto3 or Bolt.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from bot.errors import UserError

if TYPE_CHECKING:
    from bot.ports import ApproverDirectory, ThreadReplies
    from bot.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kms-why")
def cli() -> None:
    """Explain AWS KMS AccessDenied errors from the real policies, in Slack or in a terminal."""


@cli.command()
@click.option("--jsonl", is_flag=True, help="Each stdin line is a JSON string (one paste).")
def parse(jsonl: bool) -> None:
    """Read a pasted error on stdin and print what was denied, as JSON."""
    from bot.commands import parse as command

    command.run(sys.stdin, sys.stdout, jsonl=jsonl)


@cli.command()
@click.argument("file", default="-")
@click.option("--jsonl", is_flag=True, help="One document per stdin line, one result per line.")
def simulate(file: str, jsonl: bool) -> None:
    """Evaluate a simulation document (FILE, or - for stdin) and print the result."""
    from bot.commands import simulate as command

    command.run(file, sys.stdin, sys.stdout, jsonl=jsonl)


@cli.command()
@click.argument("text", nargs=-1, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per denial.")
def explain(text: tuple[str, ...], as_json: bool) -> None:
    """Diagnose a pasted error (TEXT, or stdin) against the live accounts."""
    from bot.commands import explain as command
    from bot.settings import Settings

    pasted = " ".join(text) if text else sys.stdin.read()
    command.run(pasted, Settings(), sys.stdout, as_json=as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the diagnoses as JSON lines.")
def demo(as_json: bool) -> None:
    """Run the whole pipeline on built-in scenarios against an in-process AWS emulator."""
    from bot.commands import demo as command

    command.run(sys.stdout, as_json=as_json)



def _port_from_env() -> int:
    raw = os.environ.get("PORT", "3000")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise UserError(f"PORT must be a TCP port number, not {raw!r}")
    return int(raw)


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default $PORT or 3000).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
def web(port: int | None, host: str) -> None:
    """The Slack app over HTTP: POST /slack/events, GET /healthz, /readyz and /metrics."""
    from bot.commands import serve as common

    settings = common.load_settings()
    common.require(settings, "slack_bot_token", "slack_signing_secret", command="web")
    common.configure_process_logging(settings)
    queue, _ = common.queue_and_store(settings)
    common.install_queue_probe(queue)
    from handlers.web import serve  # the composition root wires the Slack layer in

    try:
        serve(settings, host, port if port is not None else _port_from_env())
    except OSError as problem:
        raise UserError(f"cannot listen on {host}:{port}: {problem.strerror or problem}") from None


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port of the /healthz, /readyz and /metrics listener (default $PORT or 3000).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address the probe listener binds.")
def socket(port: int | None, host: str) -> None:
    """The same Slack app over Socket Mode (needs SLACK_APP_TOKEN); stops cleanly on SIGTERM."""
    from bot.commands import serve as common

    settings = common.load_settings()
    common.require(settings, "slack_bot_token", "slack_app_token", command="socket")
    common.configure_process_logging(settings)
    queue, _ = common.queue_and_store(settings)
    common.install_queue_probe(queue)
    from handlers.socket import run

    run(settings, host=host, port=port if port is not None else _port_from_env())


def _slack_thread_replies(settings: Settings) -> ThreadReplies:
    from handlers.app import make_client
    from handlers.replies import SlackThreadReplies

    return SlackThreadReplies(make_client(settings))


def _slack_approver_directory(settings: Settings) -> ApproverDirectory:
    from handlers.app import make_client
    from handlers.directory import SlackApproverDirectory

    return SlackApproverDirectory(make_client(settings))


@cli.command()
def worker() -> None:
    """Consume the Redis queue: analyse pastes, answer in Slack, apply approved patches."""
    from bot.commands import worker as command

    command.run(_slack_thread_replies, _slack_approver_directory)


def _configure_logging() -> None:
    level = os.environ.get("KMS_WHY_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level if level in logging.getLevelNamesMapping() else "WARNING")


def main() -> NoReturn:
    """Console entry point: one clear line and exit 2 on bad input, never a traceback."""
    _configure_logging()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as stop:
        sys.exit(stop.exit_code)
    except click.ClickException as problem:
        problem.show()
        sys.exit(2 if isinstance(problem, click.UsageError) else problem.exit_code)
    except click.Abort:
        sys.exit(130)
    except UserError as problem:
        print(f"kms-why: error: {problem}", file=sys.stderr)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as problem:  # the last line of defence: one line, never a traceback
        logging.getLogger("kms-why").debug("unexpected error", exc_info=True)
        print(f"kms-why: internal error: {type(problem).__name__}: {problem}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
