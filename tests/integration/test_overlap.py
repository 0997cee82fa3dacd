"""Overlapping ``tripletex-async sync`` processes into one sink: the lease lets one write,
the other fails at once or waits, a dead holder is taken over at once and a frozen one
after its ttl, fenced off when it wakes; the data ends exact every time.

Real processes against the simulator on loopback, slowed by its latency so that runs
overlap; "the first run holds the lease" is read from the sink, never slept for.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tripletex_async.testing import (
    FakeConfig,
    FakeTripletex,
    Faults,
    Portfolio,
    PortfolioConfig,
    ServerThread,
    generate_portfolio,
)

from ..expectations import FROM, TO
from ..sinks.conftest import postgres_schema  # noqa: F401 - fixtures
from .sink_probe import SinkProbe

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc: Linux")

#: Seconds the simulator takes per request: a run of `portfolio` lasts about 5 s.
LATENCY = 0.3


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    """Twelve small companies: a run takes about 5 s at `LATENCY`."""
    return generate_portfolio(PortfolioConfig(seed=11, companies=12, scale=0.05, heavy_companies=0))


@pytest.fixture
def fake(portfolio: Portfolio) -> FakeTripletex:
    """A fresh simulator, slow enough for runs to overlap."""
    return FakeTripletex(portfolio, FakeConfig(faults=Faults(latency=LATENCY)))


@pytest.fixture(params=["sqlite", "postgres", "jsonl"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> SinkProbe:
    """Each built-in sink, fresh: a SQLite file, a PostgreSQL schema, a JSONL directory."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_url")
        return SinkProbe("postgres", server, request.getfixturevalue("postgres_schema"))
    name = "sync.db" if request.param == "sqlite" else "lake"
    return SinkProbe(request.param, str(tmp_path / name))


@dataclass
class Runs:
    """Starts CLI syncs of every company into `sink`; kills what is left at the end."""

    fake: FakeTripletex
    api_url: str
    sink: SinkProbe
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(self, *flags: str) -> subprocess.Popen[str]:
        args = [
            "sync", "--base-url", self.api_url, "--sink", self.sink.url, "--all-companies",
            "--date-from", FROM.isoformat(), "--date-to", TO.isoformat(),
            "--page-size", "100", "--progress", "off", *flags,
        ]  # fmt: skip
        env = {
            **os.environ,
            "TRIPLETEX_CONSUMER_TOKEN": self.fake.credentials.consumer_token,
            "TRIPLETEX_EMPLOYEE_TOKEN": self.fake.credentials.employee_token,
        }
        for name in ("TRIPLETEX_ENV", "TRIPLETEX_BASE_URL"):
            env.pop(name, None)
        process = subprocess.Popen(
            [sys.executable, "-m", "tripletex_async.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process


@pytest.fixture
def runs(fake: FakeTripletex, sink: SinkProbe) -> Iterator[Runs]:
    """CLI syncs into `sink` from the simulator on a loopback port."""
    with ServerThread(fake.handle) as server:
        made = Runs(fake, server.api_url, sink)
        try:
            yield made
        finally:
            for process in made.started:
                if process.poll() is None:
                    process.send_signal(signal.SIGCONT)
                    process.kill()
                process.communicate()


def finish(process: subprocess.Popen[str], timeout: float = 40) -> tuple[int, str]:
    """Wait for ``process``: its exit code and stderr."""
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def succeeds(process: subprocess.Popen[str]) -> None:
    """Wait for ``process``: it must exit 0 and print nothing on stderr."""
    code, err = finish(process)
    assert (code, err) == (0, ""), err


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout: float = 20
) -> None:
    """Poll ``condition`` while ``process`` runs; fail when it ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def holds_lease(sink: SinkProbe, process: subprocess.Popen[str]) -> None:
    """Wait until ``process`` holds the lease and has committed window states."""
    wait_for(lambda: sink.holders() == {process.pid}, process, "it held the lease")
    wait_for(lambda: sink.committed() >= 10, process, "it committed")


def state(process: subprocess.Popen[str]) -> str:
    """The process's state letter in /proc (``T`` when stopped)."""
    stat = Path(f"/proc/{process.pid}/stat").read_bytes()
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def freeze(process: subprocess.Popen[str], sink: SinkProbe) -> None:
    """SIGSTOP ``process`` at a moment it does not hold the sink's lock (a holder frozen
    mid-transaction in SQLite, or mid-commit in JSONL, cannot be taken over)."""
    for _ in range(500):
        assert process.poll() is None, "the run ended before it could be frozen"
        process.send_signal(signal.SIGSTOP)
        wait_for(lambda: state(process) == "T", process, "it stopped", timeout=5)
        if not sink.locked():
            return
        process.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    pytest.fail("the run always held the lock")


def test_a_second_run_fails_at_once_naming_the_holder(runs: Runs, sink: SinkProbe) -> None:
    """While one run holds the lease another exits 2 with one line naming it; data exact."""
    first = runs.start()
    holds_lease(sink, first)
    # Held still (its lease stays valid for its ttl), so that a fast sink cannot let it
    # finish before the second run is up: then the second would rightly succeed.
    freeze(first, sink)
    code, err = finish(runs.start())
    first.send_signal(signal.SIGCONT)
    assert first.poll() is None, "the first run ended before the second was refused"
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: another run is syncing"), err
    assert f"pid {first.pid} on {socket.gethostname()}, started " in err
    succeeds(first)
    assert sink.differences(runs.fake) == []


def test_a_waiting_run_completes_after_the_holder(runs: Runs, sink: SinkProbe) -> None:
    """With --wait 60 the second run waits for the first, then completes; data exact."""
    first = runs.start()
    holds_lease(sink, first)
    # Held still until the second says it waits: however slow the second's start, it
    # finds the lease held (the first could otherwise be done before it asks).
    freeze(first, sink)
    second = runs.start("--wait", "60")
    assert second.stderr is not None
    said = second.stderr.readline()
    first.send_signal(signal.SIGCONT)
    succeeds(first)
    code, rest = finish(second)
    assert code == 0, said + rest
    assert (said + rest).splitlines() == [said.rstrip("\n")], said + rest
    assert "waiting_for_lease" in said
    assert f"pid {first.pid} " in said
    assert sink.differences(runs.fake) == []


def test_a_killed_holder_is_taken_over_at_once(runs: Runs, sink: SinkProbe) -> None:
    """A holder killed by SIGKILL mid-run: a run without --wait takes over, ends exact."""
    first = runs.start()
    holds_lease(sink, first)
    first.kill()
    assert finish(first)[0] == -signal.SIGKILL
    assert sink.holders() == {first.pid}, "the killed run's lease should be left behind"
    succeeds(runs.start())
    assert sink.differences(runs.fake) == []


def test_a_frozen_holder_is_taken_over_and_fenced_off(runs: Runs, sink: SinkProbe) -> None:
    """A SIGSTOPped holder loses its lease after its ttl; woken, it writes nothing, exits 2."""
    first = runs.start("--lease-ttl", "2")
    holds_lease(sink, first)
    freeze(first, sink)
    second = runs.start("--wait", "30")
    # The second run waits for the ttl to run out, or, when its own start took longer
    # than the ttl (a loaded machine), finds the lease expired and takes over at once.
    code, err = finish(second)
    assert code == 0, err
    if err:
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert "waiting_for_lease" in lines[0]
        assert f"pid {first.pid} " in lines[0]
    assert state(first) == "T"
    after_takeover = sink.snapshot()
    first.send_signal(signal.SIGCONT)
    code, err = finish(first)
    assert code == 2, err
    errors = err.strip().splitlines()
    assert len(errors) == 1, err
    assert errors[0].startswith("error: this run's lease was taken over by another run"), err
    assert "Traceback" not in err
    assert sink.snapshot() == after_takeover
    assert sink.differences(runs.fake) == []
