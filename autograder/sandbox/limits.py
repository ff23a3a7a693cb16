"""The resource limits of one sandbox, as the instructor sets them (`--memory`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 << 30  # the whole sandbox (cgroup), and each process's address space
    cpu_seconds: int = 900
    processes: int = 256  # threads count too: torch and ipykernel start a few dozen
    file_bytes: int = 64 << 20  # largest file the kernel may write
    open_files: int = 1024
    disk_bytes: int = 256 << 20  # size of each of the two writable folders (/tmp, working folder)
