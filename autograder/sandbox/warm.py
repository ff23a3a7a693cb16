"""Warm sandboxed kernels: one bubblewrap sandbox holds a parent process (the
zygote, inside/zygote.py) that has imported torch, numpy, matplotlib and
ipykernel and never runs student code. Each submission gets a kernel forked
from it, so a kernel is ready in a fraction of a second instead of paying
for a new interpreter and `import torch` every time.

Nothing passes from one submission to the next: every kernel is a fresh fork
of the untouched parent, with its own user id, cgroup, mount and network
namespaces, and its own empty /tmp and a working folder holding only its
submission's own files and the assignment's; it is used for one submission
and killed.

The grader side here leases the uid and the cgroup, writes the connection
file, asks the zygote for a fork, and hands the execute stage a Kernel whose
manager attaches to that kernel instead of starting one (warm_kernel.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from jupyter_client.connect import write_connection_file

from . import bwrap_args
from .bwrap_args import DATA_MOUNT, WORKDIR, bwrap_base, data_mount, inside_mount
from .handed_in import HandInFiles, fit, stage
from .host import CGROUP_ROOT, Cgroup, UidLease, kill_user, root_note
from .inside.common import INSIDE_MOUNT, STAGING
from .kernels import KERNEL_NAME, Kernel, KernelStartFailed
from .limits import Limits
from .warm_kernel import WarmKernelManager, host_pid

log = logging.getLogger(__name__)
# What every notebook of the course imports, and what every kernel imports as it starts
# (ipykernel's shell, its debugger and pdb: a fifth of a second each time): loaded once, in the parent.
PRELOAD = ("numpy", "torch", "matplotlib", "matplotlib.pyplot", "ipykernel.kernelapp", "ipykernel.ipkernel",
           "ipykernel.zmqshell", "ipykernel.debugger", "pdb", "IPython.core.debugger", "sqlite3", "faulthandler")
# The zygote's rights, dropped by each child before student code runs (see inside/zygote.py).
CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE")
START_SECONDS = 120
HAND_INS = "hand-ins"  # in the pool's folder, as the zygote sees it: where the submissions' own files are


class WarmStartFailed(KernelStartFailed):
    pass


def _pool_parent() -> str:
    for parent in ("/run", "/var/tmp"):
        if os.access(parent, os.W_OK):
            return parent
    raise WarmStartFailed("no folder outside /tmp to hold the kernels' sockets: /run and /var/tmp are not writable")


class WarmSandbox:
    """A zygote for one grading run (one assignment's data files, one set of limits)."""

    def __init__(self, bwrap: str, limits: Limits, data_dir: Path | None,
                 preload: tuple[str, ...] = PRELOAD, wait: bool = True) -> None:
        self.limits = limits
        # 0700, root's: kernels bind their sockets here as root. Not under /tmp,
        # which each kernel replaces with an empty one of its own.
        self.root = Path(tempfile.mkdtemp(prefix="autograder-pool-", dir=_pool_parent()))
        # 0700, root's: each submission's own files, staged for its kernel to copy; not in the pool's
        # folder, which may be a small /run, but seen read-only below it, and unmounted with it.
        self.hand_ins = Path(tempfile.mkdtemp(prefix="autograder-handins-"))
        probe = Cgroup(limits.memory_bytes, limits.processes)  # can this host give us cgroups?
        self.use_cgroups = bool(probe.paths)
        probe.destroy()
        # what every fork request says, the same for the zygote's whole life
        self._every_request = {
            "cgroup_mount": str(CGROUP_ROOT) if self.use_cgroups else None,
            # a Python under /tmp must stay visible under the kernel's own /tmp
            "keep_in_tmp": [r for r in bwrap_args.read_only_roots() if r.startswith("/tmp/")],
        }
        self._lock = threading.Lock()
        self._spare_lock = threading.Lock()
        self._spare: Kernel | None = None
        self._spare_thread: threading.Thread | None = None
        self._closed = False
        self._log = open(self.root / "zygote.log", "w+")  # noqa: SIM115 - lives as long as the zygote
        command = self._command(bwrap, data_dir, preload)
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True, start_new_session=True)
        self.namespace: str | None = None
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Until the zygote has imported everything and can fork (WarmStartFailed if it cannot)."""
        if self.namespace is None:
            self.namespace = self._read(START_SECONDS)["pid_namespace"]

    def _command(self, bwrap: str, data_dir: Path | None, preload: tuple[str, ...]) -> list[str]:
        caps = [arg for cap in CAPABILITIES for arg in ("--cap-add", cap)]
        cgroup = ["--bind", str(CGROUP_ROOT), str(CGROUP_ROOT)] if self.use_cgroups else []
        return [
            *bwrap_base(bwrap, self.limits, str(self.root), unshare_cgroup=False),
            "--ro-bind", str(self.hand_ins), str(self.root / HAND_INS),
            *cgroup, *data_mount(data_dir), *caps, *inside_mount(),
            "--perms", "0755", "--dir", WORKDIR, "--chdir", WORKDIR,  # never the grader's folder, nor its name
            "--perms", "0755", "--dir", STAGING,
            "--",
            sys.executable, "-I", f"{INSIDE_MOUNT}/zygote.py", json.dumps(asdict(self.limits)), DATA_MOUNT, WORKDIR, *preload,
        ]

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        try:
            return json.loads(line)
        except ValueError:  # nothing (it stopped, or took too long), or not its answer
            self.close()
            raise WarmStartFailed(f"the warm sandbox did not start: {line.strip()[:200]} "
                                  f"{self._log_tail()}".strip()) from None

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            return self._log.read()[-2000:].strip() or "no message"
        return "no message"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kernel(self, files: HandInFiles | None = None) -> Kernel:
        """A new kernel for one submission, its working folder holding `files` (the student's own,
        fit() already) under the assignment's; call its release() when done with it.

        One kernel is kept forked ahead, started while the previous submission
        runs; it has run nothing but ipykernel's start, and serves one submission
        that handed in no files of its own (one that did gets a kernel forked with them)."""
        if files:
            return self._fork(files)
        with self._spare_lock:
            spare, self._spare = self._spare, None
            forking = self._spare_thread is not None and self._spare_thread.is_alive()
            if not self._closed and not forking:  # one spare at a time: a second would be thrown away
                self._spare_thread = threading.Thread(target=self._fork_spare, daemon=True)
                self._spare_thread.start()
        return spare if spare is not None else self._fork()

    def _fork_spare(self) -> None:
        try:
            kernel = self._fork()
        except (OSError, RuntimeError):
            return  # the next kernel() forks its own, and reports what goes wrong
        with self._spare_lock:
            if self._spare is None and not self._closed:
                self._spare = kernel
                return
        kernel.release()

    def _fork(self, files: HandInFiles | None = None) -> Kernel:
        lease = UidLease()
        cgroup = Cgroup(self.limits.memory_bytes, self.limits.processes) if self.use_cgroups else None
        run_dir = self.root / f"kernel-{uuid.uuid4().hex[:12]}"
        run_dir.mkdir(mode=0o700)
        connection = str(run_dir / "connection.json")
        write_connection_file(connection, transport="ipc", ip=f"{run_dir}/kernel")
        km = WarmKernelManager(transport="ipc")
        km.load_connection_file(connection)

        hand_in = self.hand_ins / run_dir.name

        def release_sandbox() -> None:
            kill_user(lease.uid)
            if cgroup is not None:
                cgroup.destroy()
            lease.release()
            shutil.rmtree(run_dir, ignore_errors=True)
            shutil.rmtree(hand_in, ignore_errors=True)

        request = {**self._every_request, "uid": lease.uid, "run_dir": str(run_dir),
                   "cgroups": [str(p / "cgroup.procs") for p in (cgroup.paths if cgroup else [])],
                   "hand_in": str(self.root / HAND_INS / hand_in.name) if files else None}  # as the zygote sees it
        try:
            if files:
                stage(files, hand_in)
            with self._lock:
                self.wait_ready()
                if self.process.poll() is not None:
                    raise WarmStartFailed(f"the warm sandbox has stopped: {self._log_tail()}")
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
                inner = self._read(30)["pid"]
            km.host_pid = self._find(inner)
        except BaseException:
            release_sandbox()
            raise
        return Kernel(km, release_sandbox, cgroup)

    def _find(self, inner: int) -> int:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid = host_pid(inner, self.namespace)
            if pid is not None:
                return pid
            time.sleep(0.01)
        raise WarmStartFailed(f"the forked kernel {inner} vanished before it started")

    def close(self) -> None:
        with self._spare_lock:
            self._closed = True
            spare, self._spare, thread = self._spare, None, self._spare_thread
        if thread is not None:
            thread.join(30)
        if spare is not None:
            spare.release()
        with contextlib.suppress(OSError, ValueError):
            self.process.stdin.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.hand_ins, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class WarmKernels:
    """Kernels forked from a warm sandbox, which is started again if its zygote
    dies (killed by the host's OOM killer, say)."""

    kernel_name = KERNEL_NAME

    def __init__(self, bwrap: str, limits: Limits, data_dir: Path | None, preload: tuple[str, ...] = (),
                 wait: bool = True) -> None:
        # what the assignment imports, besides: "?" asks the zygote to go on where one cannot be imported
        self._args = (bwrap, limits, data_dir, PRELOAD + tuple(f"?{m}" for m in preload if m not in PRELOAD))
        self.limits, self.data_dir, self.preload = limits, data_dir, tuple(preload)
        self._restart = threading.Lock()
        self.sandbox = WarmSandbox(*self._args, wait=wait)  # not waiting: ready() before the first kernel
        try:
            self.note = root_note("forked from a warm sandbox (torch already imported)", limits,
                                  self.sandbox.use_cgroups)
        except BaseException:
            self.sandbox.close()
            raise

    def ready(self) -> bool:
        """Whether the warm sandbox started: waits for it (up to START_SECONDS) if it was started
        without waiting."""
        try:
            self.sandbox.wait_ready()
        except WarmStartFailed:
            return False
        return True

    def start(self, files: HandInFiles | None = None) -> Kernel:
        kept = fit(files or {}, self.data_dir, self.limits.disk_bytes)
        with self._restart:
            if not self.sandbox.alive:
                log.warning("the warm sandbox had stopped; starting it again")
                self.sandbox.close()
                self.sandbox = WarmSandbox(*self._args)
            sandbox = self.sandbox
        return sandbox.kernel(kept)

    def close(self) -> None:
        with self._restart:
            self.sandbox.close()
