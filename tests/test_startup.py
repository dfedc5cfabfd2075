"""napkg serve's start-up (app.create_app): the workers load the data while the web process builds its
own store and pages, and a start-up that fails on the way leaves no worker running and no temporary file."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile

import pytest

from napkg import app as napkg_app
from napkg.app import ServerConfig, create_app


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "small.nt"
    path.write_text("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(10)))
    return path


@pytest.fixture
def folders(monkeypatch):
    """The temporary folders create_app makes."""
    made, mkdtemp = [], tempfile.mkdtemp

    def recorded(*args, **kwargs):
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(napkg_app.tempfile, "mkdtemp", recorded)
    yield made
    for folder in made:  # a started app's own are removed by its lifespan, which these tests do not run
        shutil.rmtree(folder, ignore_errors=True)


def workers() -> list:
    return [p for p in multiprocessing.active_children() if p.is_alive()]


def test_a_start_up_that_fails_after_the_workers_were_spawned_ends_them(data, folders, monkeypatch):
    before = workers()
    spawned = []
    real_spawn = napkg_app.WorkerPool.spawn

    def spawn(pool):
        real_spawn(pool)
        spawned.extend(worker.process for worker in pool._spawned)

    def broken(context):
        assert all(process.is_alive() for process in spawned)  # they load while this process works
        raise RuntimeError("a page could not be built")

    monkeypatch.setattr(napkg_app.WorkerPool, "spawn", spawn)
    monkeypatch.setattr(napkg_app.web, "make_router", broken)
    with pytest.raises(RuntimeError, match="a page could not be built"):
        create_app(ServerConfig(data=[data], workers=2))
    assert len(spawned) == 2 and not any(process.is_alive() for process in spawned)
    assert workers() == before
    assert folders and not any(os.path.exists(folder) for folder in folders)


def test_a_start_up_that_works_serves_with_its_workers(data, folders):
    front = create_app(ServerConfig(data=[data], workers=2))
    try:
        pool = front.app.state.pool
        assert len(pool._ready) == 2 and all(worker.process.is_alive() for worker in pool._ready)
        assert front.app.state.context.store.query("ASK { <urn:s9> <urn:p> <urn:o9> }")
    finally:
        front.app.state.pool.close()
