"""The sandbox a submission's kernel runs in, behind one small interface
(kernels.KernelSource): bwrap_args.py finds bubblewrap and builds its command lines, host.py holds
what the host lends each sandbox as root (uid lease, cgroup, tmpfs), cold.py and
warm.py are the two ways of starting a sandboxed kernel as root, rootless.py the
way without root (with pidns.py and memory_watch.py), and inside/ holds the
stdlib-only programs that run first inside it. handed_in.py carries the
files a student handed in beside the notebooks to each kernel's working folder.

`kernel_source` is the one place that decides how kernels run: as root, each
kernel gets a user id and cgroup of its own (warm or cold); as anyone else, a
rootless sandbox of its own.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .bwrap_args import SandboxUnavailable, bubblewrap
from .cold import ColdKernels
from .handed_in import HandInFiles, HandInTooLarge, read_files
from .kernels import Kernel, KernelSource, KernelStartFailed, PlainKernels
from .limits import Limits
from .rootless import RootlessKernels
from .warm import WarmKernels

__all__ = ["HandInFiles", "HandInTooLarge", "Kernel", "KernelSource", "KernelStartFailed", "Limits",
           "SandboxSettings", "SandboxUnavailable", "bubblewrap", "kernel_source", "read_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxSettings:
    enabled: bool = True  # False: --no-sandbox, kernels with the grader's rights
    warm: bool = True  # fork kernels from a warm sandbox (False: --cold)
    limits: Limits = field(default_factory=Limits)
    preload: tuple[str, ...] = ()  # modules the assignment imports: a warm sandbox imports them once, if it can


def kernel_source(settings: SandboxSettings, data_dir: Path | None) -> KernelSource:
    """Where a grading run's kernels come from: plain if asked; without root, rootless;
    as root, warm if asked and possible, else cold."""
    if not settings.enabled:
        return PlainKernels(data_dir)
    bwrap = bubblewrap()
    if os.geteuid() != 0:
        return RootlessKernels(bwrap, settings.limits, data_dir, warm_asked=settings.warm)
    if settings.warm:
        try:
            return WarmKernels(bwrap, settings.limits, data_dir, settings.preload)
        except (KernelStartFailed, OSError) as error:
            log.warning("warm kernels are not available here (%s); each submission starts a fresh "
                        "sandboxed kernel instead", error)
    return ColdKernels(bwrap, settings.limits, data_dir)
