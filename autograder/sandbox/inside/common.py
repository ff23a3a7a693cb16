"""What the two programs inside the sandbox share (launch.py for a cold kernel,
zygote.py for warm ones), and what the grader's side must agree with them on.

Standard library only: it is imported before any student code runs, by a
Python started with -I -S, from the read-only folder these scripts are
mounted in. The grader's side imports it as autograder.sandbox.inside.common.
"""

import os
import resource
import sys

# Inside the sandbox: these scripts' folder, and where each warm kernel's /tmp is put together.
INSIDE_MOUNT = "/autograder-inside"
STAGING = "/.kernel-tmp"
# launch.py's user argument in a rootless sandbox: the kernel keeps the user it started as.
SAME_USER = "-"

# Limits (autograder.sandbox.limits.Limits field names) set as rlimits on every kernel.
RLIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}


def set_limits(limits: dict) -> None:
    """The rlimits of every kernel, whoever it runs as."""
    for name, which in RLIMITS.items():
        if limits.get(name):
            resource.setrlimit(which, (limits[name], limits[name]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def become(uid: int, limits: dict) -> None:
    """Set the rlimits, then give up root for `uid`: from here on the kernel is an
    ordinary user, and RLIMIT_NPROC counts only this sandbox's processes."""
    set_limits(limits)
    # Giving up root clears every capability of every thread (glibc applies setuid to all).
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def working_folder_importable() -> None:
    """What IPython does for every kernel but one started with -I (the zygote): the working
    folder on the import path, after the standard library, so a release's helper modules import."""
    if "" in sys.path:
        return
    where = next((i for i, path in enumerate(sys.path) if os.path.basename(path) in ("site-packages",
                                                                                    "dist-packages")), 0)
    sys.path.insert(where, "")
