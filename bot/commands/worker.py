"""`kms-why worker`: the composition of the worker process (the Slack side comes from the CLI)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.commands.serve import (
    configure_process_logging,
    install_queue_probe,
    load_settings,
    load_worker_config,
    queue_and_store,
    require,
)
from bot.ports import ApproverDirectory, ThreadReplies
from bot.settings import Settings

log = logging.getLogger(__name__)


def run(
    make_replies: Callable[[Settings], ThreadReplies],
    make_directory: Callable[[Settings], ApproverDirectory] | None = None,
) -> None:
    """Check settings, build the worker and run it until SIGTERM.

    `make_replies` and `make_directory` are the Slack side; without a directory, approvals that rest
    on user-group membership are refused (the worker cannot confirm them).
    """
    settings = load_settings()
    require(settings, "slack_bot_token", command="worker")
    config = load_worker_config()
    configure_process_logging(settings)
    queue, store = queue_and_store(settings, config)

    from bot import metrics
    from bot.analysis import analyse
    from bot.aws.sessions import SessionFactory
    from bot.key_policies import WriterKeyPolicies
    from bot.worker import Worker, install_signal_handlers

    sessions = SessionFactory(settings)  # one per process: warm analyses reuse assumed credentials
    worker = Worker(
        queue=queue,
        store=store,
        replies=make_replies(settings),
        settings=settings,
        config=config,
        analyse=analyse,
        key_policies=WriterKeyPolicies(sessions),
        sessions=sessions,
        directory=make_directory(settings) if make_directory is not None else None,
    )
    install_signal_handlers(worker)
    if config.metrics_port:
        install_queue_probe(queue)
        metrics.start_metrics_server(config.metrics_port)
    if not queue.ping():
        log.warning("Redis at %s does not answer yet; the worker keeps trying", settings.redis_url)
    worker.run()
