"""The worker pool's line (pool.WorkerPool): a job sent behind a running one is not stuck there.

Each worker may hold one job behind the one it runs. These tests put a job behind a long query and check
that it is taken over by the worker that frees up first, that it is run elsewhere when its worker is
killed (time limit) or dies (but not once its client has hung up), and that jobs held behind count towards
the waiting line's length.
Real worker processes on a small graph: 60 triples, so a product of four patterns takes about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time

import pytest

from napkg.endpoint.pool import OVERLOAD_LOG_INTERVAL, Crashed, Overloaded, PoolSettings, TimedOut, WorkerPool
from napkg.sparql.engine import Job

# serial: asserts how long a job waits behind others (seconds); `make test` runs it after the parallel run.
# slow: real worker processes and real time limits, about a minute in all.
pytestmark = [pytest.mark.serial, pytest.mark.slow]

TRIPLES = 60
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
FOUR = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"  # 60^4 rows: ~1 s
LONGER = FOUR.replace("WHERE {", "WHERE { VALUES ?x { 1 2 3 }")  # three times as many: ~4 s
ENDLESS = FOUR.replace("?j ?k ?l", "?j ?k ?l . ?m ?n2 ?o2 . ?q ?r ?t")  # 60^6 rows: hours


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "small.nt"
    path.write_text("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(TRIPLES)))
    return path


def job(query: str) -> Job:
    return Job(query=query, media_types=("application/sparql-results+json",))


def count(answer) -> int:
    assert answer.status == 200, answer.error
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


@contextlib.asynccontextmanager
async def started(data, **options):
    """A started pool, its workers' channels made by a first query; closed afterwards."""
    pool = WorkerPool(PoolSettings(data=data, **{"workers": 2, "timeout": 60, "queue": 4, **options}))
    pool.start()
    try:
        assert count(await pool.run(job(COUNT))) == TRIPLES
        yield pool
    finally:
        pool.close()


async def send(pool: WorkerPool, query: str, wait: float = 0.0, **options) -> asyncio.Task:
    """The query's task, started; then wait seconds (0: until it is sent)."""
    task = asyncio.create_task(pool.run(job(query), **options))
    await asyncio.sleep(wait)
    return task


def test_a_job_behind_a_long_query_is_taken_over_by_the_worker_that_frees_up(data):
    async def scenario():
        async with started(data) as pool:
            first = await send(pool, FOUR, 0.2)  # one worker, ~1 s
            longer = await send(pool, LONGER)  # the other, ~4 s
            sent_at = time.monotonic()
            small = await send(pool, COUNT)
            # Both workers busy: the small job is sent behind the query that started last, the longer one.
            behind = [w for w in pool._ready if w.waiting is not None]
            assert len(behind) == 1 and behind[0].running.job.query == LONGER
            assert count(await small) == TRIPLES
            took = time.monotonic() - sent_at
            assert not longer.done(), "the small job waited for the longer query after all"
            assert first.done() and count(first.result()) == TRIPLES**4
            assert count(await longer) == 3 * TRIPLES**4
            # The worker that ran the longer query skipped the job taken from it, and stays in step:
            # jobs on both workers get their own answers, and no worker was replaced.
            answers = await asyncio.gather(pool.run(job(COUNT)), pool.run(job(FOUR)), pool.run(job(COUNT)))
            assert [count(a) for a in answers] == [TRIPLES, TRIPLES**4, TRIPLES]
            assert pool.restarts == 0
            return took

    took = asyncio.run(scenario())
    assert took < 3, f"the small job took {took:.1f} s"


def test_a_busy_worker_takes_over_a_job_held_behind_a_query_running_for_over_a_second(data):
    async def scenario():
        async with started(data) as pool:
            longer = await send(pool, LONGER, 0.1)  # one worker, ~4 s
            first = await send(pool, FOUR)  # the other, ~1 s
            second = await send(pool, FOUR)  # held behind the first: it started last
            small = await send(pool, COUNT)  # held behind the longer query: the only room
            assert next(w for w in pool._ready if w.running.job.query == LONGER).waiting.job.query == COUNT
            # Two more in the server's line keep the other worker busy until the longer query ends.
            more = [asyncio.create_task(pool.run(job(FOUR))) for _ in range(2)]
            # When the first FOUR ends, the longer query has run over TAKE_OVER_AFTER: the other worker,
            # busy with the second FOUR, takes the small job over, and answers it before the longer one ends.
            assert count(await small) == TRIPLES
            assert not longer.done(), "the small job waited for the longer query after all"
            assert [count(await t) for t in (first, second, longer, *more)] == [TRIPLES**4] * 2 + [3 * TRIPLES**4] + [
                TRIPLES**4
            ] * 2

    asyncio.run(scenario())


@pytest.mark.parametrize("how", ["time limit", "crash"])
def test_a_job_behind_a_killed_worker_runs_on_another(data, how):
    async def scenario():
        async with started(data) as pool:
            endless = await send(pool, ENDLESS, 0.2, timeout=60)
            doomed = await send(pool, ENDLESS, timeout=2 if how == "time limit" else 60)
            small = await send(pool, COUNT)
            victim = next(w for w in pool._ready if w.waiting is not None)
            assert victim.running.job.query == ENDLESS and victim.waiting.job.query == COUNT
            if how == "crash":
                await asyncio.sleep(0.3)
                os.kill(victim.pid, signal.SIGKILL)
            with pytest.raises(TimedOut if how == "time limit" else Crashed):
                await doomed
            # The small job had not started: it runs on the worker that replaces the killed one.
            assert count(await asyncio.wait_for(small, 30)) == TRIPLES
            assert not endless.done()
            assert pool.restarts == 1

    asyncio.run(scenario())


def test_jobs_behind_running_ones_count_towards_the_queue(data):
    async def scenario():
        async with started(data, workers=1, queue=1) as pool:
            endless = await send(pool, ENDLESS, timeout=3)
            held = await send(pool, COUNT)  # the one place in the queue: behind the worker's job
            assert pool._ready[0].waiting is not None
            with pytest.raises(Overloaded):
                await pool.run(job(COUNT))
            with pytest.raises(TimedOut):
                await endless
            assert count(await asyncio.wait_for(held, 30)) == TRIPLES  # put back in line, run by the new worker

    asyncio.run(scenario())


def test_503s_are_logged_at_most_once_a_minute_and_counted(data, caplog):
    """A burst of 503s gives one log line, then the next line after OVERLOAD_LOG_INTERVAL counts the rest."""

    async def scenario():
        async with started(data, workers=1, queue=0) as pool:
            endless = await send(pool, ENDLESS, timeout=3)
            with caplog.at_level(logging.WARNING, logger="napkg.pool"):
                for _ in range(3):
                    with pytest.raises(Overloaded):
                        await pool.run(job(COUNT))
                told = [r.getMessage() for r in caplog.records if "answered 503" in r.getMessage()]
                assert told == [
                    "Every query worker is busy and the waiting line (0) is full: 1 request(s) "
                    "answered 503 since the last such message."
                ]
                pool._overload_logged -= OVERLOAD_LOG_INTERVAL  # a minute later
                with pytest.raises(Overloaded):
                    await pool.run(job(COUNT))
                told = [r.getMessage() for r in caplog.records if "answered 503" in r.getMessage()]
                assert told[1:] == [
                    "Every query worker is busy and the waiting line (0) is full: 3 request(s) "
                    "answered 503 since the last such message."
                ]
            with pytest.raises(TimedOut):
                await endless

    asyncio.run(scenario())


def test_a_held_job_whose_client_hung_up_is_not_run_when_its_worker_is_lost(data):
    async def scenario():
        async with started(data, workers=1) as pool:
            endless = await send(pool, ENDLESS, timeout=2)
            held = await send(pool, COUNT)
            assert pool._ready[0].waiting is not None
            held.cancel()  # the client hangs up while its job waits behind the endless one
            with pytest.raises(asyncio.CancelledError):
                await held
            with pytest.raises(TimedOut):
                await endless
            for _ in range(300):  # the replacement loads the data and joins
                if pool._ready:
                    break
                await asyncio.sleep(0.1)
            assert pool._ready and pool._ready[0].sent == 0, "the abandoned job was run by the new worker"
            assert not pool._line
            assert count(await pool.run(job(COUNT))) == TRIPLES

    asyncio.run(scenario())


def test_an_error_in_the_engine_is_answered_and_the_worker_kept(data):
    """A Python exception in a worker (here: a substitution that is no RDF term) is a 500 for its client, not
    the end of the worker: reloading the data would cost every client a worker for a second."""

    async def scenario():
        async with started(data, workers=1) as pool:
            pids = pool.pids()
            bad = Job(
                query="SELECT * WHERE { ?x ?p ?o }",
                media_types=("application/sparql-results+json",),
                substitutions=(("x", "<not an iri>"),),
            )
            answer = await pool.run(bad)
            assert answer.status == 500 and "SyntaxError" in answer.error, answer
            assert count(await pool.run(job(COUNT))) == TRIPLES
            assert pool.pids() == pids and pool.restarts == 0 and pool.crashes == 0

    asyncio.run(scenario())


def test_a_job_whose_client_leaves_is_taken_out_of_the_line_and_never_run(data):
    """A request whose client hangs up while it waits for a worker (its task cancelled) leaves the line."""

    async def main():
        async with started(data) as pool:
            busy = [await send(pool, FOUR) for _ in range(4)]  # two running, two held behind them
            waiting = await send(pool, COUNT)
            assert len(pool._line) == 1
            waiting.cancel()
            await asyncio.sleep(0)
            left = len(pool._line)
            for task in busy:
                await task
            return left, waiting.cancelled(), pool.crashes

    assert asyncio.run(main()) == (0, True, 0)


def test_small_jobs_are_pickled_once_and_large_ones_each_time(data):
    """The pickled jobs kept for repeated GETs stay small whatever clients send."""
    from napkg.endpoint.pool import WIRE_CACHE_SIZE

    small, large = job(COUNT), job("# " + "x" * 2 * WIRE_CACHE_SIZE + "\n" + COUNT)

    async def main():
        async with started(data) as pool:
            answers = [await pool.run(j) for j in (small, large, small, large)]
            return answers, dict(pool._wire)

    answers, wire = asyncio.run(main())
    assert [count(a) for a in answers] == [TRIPLES] * 4  # the worker reads both, cached or not
    assert small in wire and large not in wire


def _nice_values(pid: int) -> set[int]:
    """The nice value of each thread of a process (field 19 of /proc/PID/task/TID/stat)."""
    values = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as stat:
            values.add(int(stat.read().rsplit(")", 1)[1].split()[16]))
    return values


@pytest.mark.parametrize("nice", [0, 7])
def test_workers_run_nicer_than_the_server_by_the_setting(data, nice):
    """The web process must come first when the CPUs are busy (pool.WORKER_NICE); the thread that runs
    the queries too, not only the worker's main thread."""

    async def main():
        async with started(data, nice=nice) as pool:
            return {pid: _nice_values(pid) for pid in pool.pids()}

    own = os.nice(0)
    workers = asyncio.run(main())
    assert len(workers) == 2
    for pid, values in workers.items():
        assert values == {min(own + nice, 19)}, (pid, values)


def test_spawned_workers_load_while_the_caller_works_and_start_waits_for_them(data):
    async def scenario():
        pool = WorkerPool(PoolSettings(data=data, workers=2, timeout=60, queue=4))
        try:
            pool.spawn()
            spawned = list(pool._spawned)
            assert len(spawned) == 2 and all(worker.process.is_alive() for worker in spawned)
            pool.spawn()  # once only
            pool.start()  # no new workers: it waits for the spawned ones
            assert pool._spawned == spawned and sorted(pool._ready, key=id) == sorted(spawned, key=id)
            assert count(await pool.run(job(COUNT))) == TRIPLES
        finally:
            pool.close()

    asyncio.run(scenario())


def test_close_ends_workers_spawned_but_never_started(data):
    pool = WorkerPool(PoolSettings(data=data, workers=2, timeout=60, queue=4))
    pool.spawn()
    processes = [worker.process for worker in pool._spawned]
    pool.close()
    assert not any(process.is_alive() for process in processes)
