"""Real servers for the tests that need them, on loopback only: a PostgreSQL
server (Debian's `postgresql`, installed here when missing and we are root)
and a Dask scheduler with its workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def install_postgres() -> Path:
    if _postgres_bin() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = _postgres_bin()
    if found is None:
        pytest.fail("PostgreSQL is not installed: `sudo apt-get install postgresql` (Debian/Ubuntu), then run again")
    return found


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1; yields the URL of an empty database."""
    bin_dir = install_postgres()
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="autograder-postgres-"))  # not under pytest's root-only tmp
    if run_as:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    subprocess.run([*run_as, bin_dir / "initdb", "-D", data, "--auth=trust", "-U", "postgres"],
                   check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {folder}"
    subprocess.run([*run_as, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
                   check=True, capture_output=True)
    try:
        subprocess.run([*run_as, bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "course"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/course"
    finally:
        subprocess.run([*run_as, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[str]:
    """`dask scheduler` and `dask worker --nworkers N` on 127.0.0.1; yields the scheduler's address."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                               "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(workers, timeout=120)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
