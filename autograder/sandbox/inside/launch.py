"""First program inside a cold sandbox: copy the files the student handed in
beside the notebooks, then the assignment's data files on top, into the working
folder, set the resource limits, drop to an unprivileged user (as root; a
rootless sandbox already runs as one), then exec the Jupyter kernel.

Runs with `python -I -S` before any student code: standard library only, and
it imports nothing from the working folder, only common.py beside it (a
read-only mount).

    launch.py UID|- LIMITS_JSON DATA_DIR HANDIN_DIR -- KERNEL_COMMAND...
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves this folder out
sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE: nothing of ours is written in the sandbox

from common import SAME_USER, become, set_limits


def main(argv):
    user, limits, data_dir, hand_in = argv[1], json.loads(argv[2]), argv[3], argv[4]
    command = argv[argv.index("--") + 1:]
    workdir = os.getcwd()
    if os.path.isdir(hand_in):  # the grader staged regular files; a link would be copied as a link, never followed
        shutil.copytree(hand_in, workdir, symlinks=True, dirs_exist_ok=True)
    if os.path.isdir(data_dir):
        shutil.copytree(data_dir, workdir, dirs_exist_ok=True)
    if user == SAME_USER:
        set_limits(limits)
    else:
        uid = int(user)
        for root, dirs, files in os.walk(workdir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, uid)
        os.chown(workdir, uid, uid)
        become(uid, limits)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
