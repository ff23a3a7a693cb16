"""First program inside the sandbox, run as root by bubblewrap: copy the
assignment's data files into the working folder, set the resource limits,
drop to an unprivileged user, then exec the Jupyter kernel.

Runs with `python -I -S` before any student code: standard library only, and
it imports nothing from the working folder.

    launch.py UID LIMITS_JSON DATA_DIR -- KERNEL_COMMAND...
"""

import json
import os
import resource
import shutil
import sys

LIMITS = {
    "memory_bytes": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}


def main(argv):
    uid, limits, data_dir = int(argv[1]), json.loads(argv[2]), argv[3]
    command = argv[argv.index("--") + 1:]
    workdir = os.getcwd()
    if os.path.isdir(data_dir):
        shutil.copytree(data_dir, workdir, dirs_exist_ok=True)
    for root, dirs, files in os.walk(workdir):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid)
    os.chown(workdir, uid, uid)

    for name, which in LIMITS.items():
        if limits.get(name):
            resource.setrlimit(which, (limits[name], limits[name]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Giving up root also clears every capability: from here on the kernel is
    # an ordinary user, and RLIMIT_NPROC counts only this sandbox's processes.
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
