"""Development secrets are made once into instance/ and read by every process the same."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import config


def _secret(instance: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    config.INSTANCE_DIR = Path(instance)
    queue.put(config.DevelopmentConfig().STRIPE_WEBHOOK_SECRET)


def test_processes_started_together_share_one_webhook_secret(tmp_path, monkeypatch):
    """gunicorn's workers start at once: each must verify the sandbox's signatures with the
    same secret, or a webhook signed for one is refused by another."""
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_secret, args=(str(tmp_path), queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    secrets = {queue.get(timeout=5) for _ in workers}
    stored = json.loads((tmp_path / "dev-secrets.json").read_text())
    assert secrets == {stored["STRIPE_WEBHOOK_SECRET"]}
    assert stored["STRIPE_WEBHOOK_SECRET"].startswith("whsec_sandbox_")
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o777 == 0o600
