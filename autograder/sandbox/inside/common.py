"""What the two programs inside the sandbox share (launch.py for a cold kernel,
zygote.py for warm ones), and what the grader's side must agree with them on.

Standard library only: it is imported before any student code runs, by a
Python started with -I -S, from the read-only folder these scripts are
mounted in. The grader's side imports it as autograder.sandbox.inside.common.
"""

import os
import resource

# Inside the sandbox: these scripts' folder, and where each warm kernel's /tmp is put together.
INSIDE_MOUNT = "/autograder-inside"
STAGING = "/.kernel-tmp"

# Limits (autograder.sandbox.limits.Limits field names) set as rlimits on every kernel.
RLIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}


def become(uid: int, limits: dict) -> None:
    """Set the rlimits, then give up root for `uid`: from here on the kernel is an
    ordinary user, and RLIMIT_NPROC counts only this sandbox's processes."""
    for name, which in RLIMITS.items():
        if limits.get(name):
            resource.setrlimit(which, (limits[name], limits[name]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Giving up root clears every capability of every thread (glibc applies setuid to all).
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
