"""Cold kernels: a new sandboxed interpreter for every submission (`--cold`,
and the fallback where warm kernels cannot start).

Only the kernel is sandboxed. The notebook, the tests and the gradebook stay
in the trusted parent, which talks to the kernel over Unix sockets (Jupyter's
IPC transport) in a folder shared with the sandbox; the sandbox has no network
at all, not even loopback. Inside, inside/launch.py copies the files the
student handed in beside the notebooks, then the assignment's data files, into
a fresh working folder, sets the limits, drops to the leased uid and execs the
kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from jupyter_client import AsyncKernelManager
from traitlets import Any

from .bwrap_args import DATA_MOUNT, HANDIN_MOUNT, WORKDIR, bwrap_base, data_mount, handin_mount, inside_mount
from .handed_in import HandInFiles, fit, staged, unstage
from .host import Cgroup, UidLease, root_note, small_tmpfs, unmount
from .inside.common import INSIDE_MOUNT
from .kernels import KERNEL_NAME, Kernel, start_manager
from .limits import Limits


@dataclass(frozen=True)
class SandboxSpec:
    run_dir: str  # holds the connection file and the kernel's sockets; seen inside at the same path
    data_dir: str | None  # the assignment's data files
    uid: int
    limits: Limits
    hand_in: str | None = None  # the student's own files, staged by the grader (handed_in.staged)

    def wrap(self, kernel_command: list[str], bwrap: str) -> list[str]:
        return [
            *bwrap_base(bwrap, self.limits, self.run_dir),
            *inside_mount(),
            *data_mount(self.data_dir),
            *handin_mount(self.hand_in),
            "--size", str(self.limits.disk_bytes), "--perms", "0755", "--tmpfs", WORKDIR,
            "--chdir", WORKDIR,
            "--",
            sys.executable, "-I", "-S", f"{INSIDE_MOUNT}/launch.py",
            str(self.uid), json.dumps(asdict(self.limits)), DATA_MOUNT, HANDIN_MOUNT,
            "--", *kernel_command,
        ]


class SandboxKernelManager(AsyncKernelManager):
    """A KernelManager whose kernel starts inside bubblewrap (see SandboxSpec)."""

    sandbox = Any(None, help="SandboxSpec of this kernel")
    bwrap = Any(None, help="path of bwrap")
    cgroup = Any(None, help="Cgroup the whole sandbox runs in")

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        # written 0600 by root: the kernel's user must read it
        os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        return self.cgroup.enter(self.sandbox.wrap(command, self.bwrap))


class ColdKernels:
    """A fresh sandboxed interpreter per submission, with its own uid, cgroup and socket folder."""

    kernel_name = KERNEL_NAME

    def __init__(self, bwrap: str, limits: Limits, data_dir: Path | None) -> None:
        self.bwrap, self.limits, self.data_dir = bwrap, limits, data_dir
        probe = Cgroup(limits.memory_bytes, limits.processes)  # can this host give us cgroups?
        probe.destroy()
        self.note = root_note("a new interpreter per submission", limits, bool(probe.paths))

    def start(self, files: HandInFiles | None = None) -> Kernel:
        hand_in = staged(fit(files or {}, self.data_dir, self.limits.disk_bytes))
        try:
            lease = UidLease()
        except BaseException:
            unstage(hand_in)
            raise
        run_dir = Path(tempfile.mkdtemp(prefix="autograder-kernel-"))
        mounted = small_tmpfs(run_dir, lease.uid)
        if not mounted:
            os.chown(run_dir, lease.uid, lease.uid)
            os.chmod(run_dir, 0o700)
        cgroup = Cgroup(self.limits.memory_bytes, self.limits.processes)

        def release() -> None:
            cgroup.destroy()
            lease.release()
            if mounted:
                unmount(run_dir)
            shutil.rmtree(run_dir, ignore_errors=True)
            unstage(hand_in)

        spec = SandboxSpec(str(run_dir), str(self.data_dir) if self.data_dir else None, lease.uid, self.limits,
                           str(hand_in) if hand_in else None)
        manager = SandboxKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=f"{run_dir}/kernel",
                                       sandbox=spec, bwrap=self.bwrap, cgroup=cgroup)
        manager.connection_file = f"{run_dir}/connection.json"
        start_manager(manager, release)
        return Kernel(manager, release, cgroup)

    def close(self) -> None:
        pass
