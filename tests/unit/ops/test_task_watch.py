"""actors/task_watch.py on a real event loop: a task that died with nobody to see it is reported (redacted), a task
whose exception its caller handles is not, nor a cancelled or a successful one; ERROR log lines are forwarded,
the same one at most once per ERROR_EVERY_S. The report itself (a Ray call to the Supervisor) is captured."""
from __future__ import annotations

import asyncio
import logging

import pytest

from actors import task_watch


@pytest.fixture
def reports(monkeypatch):
    out: list[tuple[str, str, str]] = []
    monkeypatch.setattr(task_watch, "report", lambda where, text, kind="exception": out.append((where, text, kind)))
    monkeypatch.setattr(task_watch, "GRACE_S", 0.05)
    yield out
    root = logging.getLogger("launchray")
    for h in [h for h in root.handlers if isinstance(h, task_watch._ErrorForwarder)]:
        root.removeHandler(h)
    task_watch._error_sent.clear()


def test_only_a_task_whose_exception_nobody_retrieved_is_reported(reports):
    async def main():
        task_watch.install("ns", "orchestrator")
        loop = asyncio.get_running_loop()

        async def lost():
            raise ValueError("bad answer from https://rpc.example/abcdefabcdefabcdef")

        async def fine():
            return 1

        async def handled():
            try:
                await loop.create_task(lost())
            except ValueError:
                pass

        async def forever():
            await asyncio.sleep(3600)

        dead = loop.create_task(lost(), name="the-loop")
        loop.create_task(fine())
        await handled()                                        # its caller saw the exception
        await asyncio.gather(lost(), return_exceptions=True)   # so did this one
        sleeper = loop.create_task(forever())
        await asyncio.sleep(0)
        sleeper.cancel()
        await asyncio.sleep(0.3)
        return dead

    dead = asyncio.run(main())
    assert reports == [("test_only_a_task_whose_exception_nobody_retrieved_is_reported.<locals>.main.<locals>.lost",
                        "ValueError: bad answer from https://rpc.example/[REDACTED]", "exception")]
    assert dead.done() and isinstance(dead.exception(), ValueError)


def test_a_callback_that_raised_is_reported_by_the_loop_handler(reports):
    async def main():
        task_watch.install("ns", "executor")
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert reports == [("event loop", "ZeroDivisionError: division by zero", "exception")]


def test_error_log_lines_are_forwarded_once_per_period(reports):
    async def main():
        task_watch.install("ns", "positions")
        log = logging.getLogger("launchray.positions")
        for _ in range(3):
            log.error("exit for %s failed: %s", "MintA", "https://rpc.example/abcdefabcdefabcdef")
        log.warning("only a warning")
        log.error("another failure")

    asyncio.run(main())
    assert reports == [("launchray.positions", "exit for MintA failed: https://rpc.example/[REDACTED]", "error"),
                       ("launchray.positions", "another failure", "error")]


def test_a_task_that_died_with_its_peer_actor_is_an_error_not_a_bug(reports):
    from ray.exceptions import ActorDiedError

    async def main():
        task_watch.install("ns", "orchestrator")

        async def call_dead_peer():
            raise ActorDiedError()

        asyncio.get_running_loop().create_task(call_dead_peer())
        await asyncio.sleep(0.3)

    asyncio.run(main())
    assert len(reports) == 1 and reports[0][2] == "error" and reports[0][1].startswith("ActorDiedError: ")
