"""The warm parent inside the sandbox: it imports the heavy modules once,
then forks one kernel per submission. Run by bubblewrap as root with a few
capabilities (autograder/sandbox/warm.py); it never runs student code itself.

Each forked child, before any student code:
  1. joins the cgroup the grader made for it (memory and process caps);
  2. gets namespaces of its own (mounts, network, IPC, hostname), so it sees
     nothing of the other kernels: a fresh /tmp and working folder
     (small tmpfs, gone with it) holding the assignment's files, no network at all;
  3. starts the Jupyter kernel (sockets, IPython, the working folder on its
     import path as in a cold kernel), still as root, because the socket folder
     is the grader's and the student may not write there; only then copies in
     the files its submission handed in beside the notebooks (none the
     assignment has: the grader left those out), so that nothing running as
     root ever imports one; then unmounts the socket folders, and the
     submissions' files below them, from its view;
  4. sets the resource limits and becomes the submission's own user, which
     drops every capability; then the kernel serves the grader.

The grader talks to it with one JSON line per request on stdin, one reply per
line on stdout:  {"uid", "run_dir", "cgroups": [cgroup.procs files], "hand_in": folder or null} -> {"pid"}.

    zygote.py LIMITS_JSON DATA_DIR WORKDIR MODULE... ?MODULE...   (?: imported if it can be)
"""

import contextlib
import ctypes
import gc
import importlib
import json
import os
import shutil
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves this folder out
sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE: nothing of ours is written in the sandbox

from common import STAGING, become, working_folder_importable

INSIDE = sys.path[0]  # this folder: the kernels import nothing from it

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 0x1, 0x20, 0x1000, 0x2000, 0x4000, 0x40000
MNT_DETACH = 2
libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount_tmpfs(target: str, size: int, mode: str, uid: int = 0) -> None:
    options = f"size={size},mode={mode},uid={uid},gid={uid}".encode()
    _check(libc.mount(b"autograder", target.encode(), b"tmpfs", 0, options), f"mount tmpfs on {target}")


def fresh_tmp(size: int, keep: list[str]) -> None:
    """An empty /tmp of the kernel's own, in which the read-only folders that live under
    /tmp (a Python installed there, say) are mounted again, read-only, where they were."""
    mount_tmpfs(STAGING, size, "1777")
    for path in keep:
        inside = STAGING + path[len("/tmp"):]
        os.makedirs(inside, mode=0o755, exist_ok=True)
        _check(libc.mount(path.encode(), inside.encode(), None, MS_BIND | MS_REC, None), f"bind {path}")
        _check(libc.mount(None, inside.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None),
               f"make {path} read-only")
    _check(libc.mount(STAGING.encode(), b"/tmp", None, MS_MOVE, None), "move the new /tmp in place")


def private_namespaces(cgroup_mount: str | None) -> None:
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    if cgroup_mount:  # the cgroup tree was only there for joining: the student never sees it
        _check(libc.umount2(cgroup_mount.encode(), MNT_DETACH), "unmount cgroups")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def clear_inheritable_capabilities() -> None:
    """setuid() drops the permitted and effective sets but keeps this one; capset is per
    thread, so this runs while the child has a single thread."""
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()  # _LINUX_CAPABILITY_VERSION_3
    _check(libc.capget(ctypes.byref(header), data), "capget")
    for half in data:
        half.inheritable = 0
    _check(libc.capset(ctypes.byref(header), data), "capset")


def chown_tree(root: str, uid: int) -> None:
    os.lchown(root, uid, uid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)


def become_checked(uid: int, limits: dict) -> None:
    become(uid, limits)
    if os.getuid() != uid or _capabilities("CapEff:") or _capabilities("CapInh:"):
        raise RuntimeError("could not give up root")


def _capabilities(which: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(which):
                return int(line.split()[1], 16)
    return -1


def add_hand_in(folder: str | None, workdir: str) -> None:
    """The student's own files, copied in as root once the kernel has started; the working folder
    leaves the import path until the kernel is the student's, so nothing imports one as root."""
    while "" in sys.path:
        sys.path.remove("")
    if folder:  # staged by the grader as regular files: a link would be copied as a link, never followed
        shutil.copytree(folder, workdir, symlinks=True, dirs_exist_ok=True)


def run_kernel(request: dict, limits: dict, data_dir: str, workdir: str, for_the_assignment: list[str]) -> None:
    """In the forked child: never returns."""
    uid = request["uid"]
    clear_inheritable_capabilities()
    for procs in request["cgroups"]:
        with open(procs, "w") as f:
            f.write("0")  # 0: the writer itself
    private_namespaces(request.get("cgroup_mount"))
    size = limits["disk_bytes"]
    fresh_tmp(size, request.get("keep_in_tmp", []))
    mount_tmpfs(workdir, size, "0755", uid)
    if os.path.isdir(data_dir):
        shutil.copytree(data_dir, workdir, dirs_exist_ok=True)
    os.chdir(workdir)
    os.environ["PWD"] = workdir
    sys.path.remove(INSIDE)
    sys.modules.pop("common", None)  # a release's own common.py must import as it would in a cold kernel
    working_folder_importable()  # as in a cold kernel: a release's helper.py imports

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    # the arguments nbclient gives a kernel it starts: no history file, as in a cold sandbox
    app.initialize(["-f", os.path.join(request["run_dir"], "connection.json"), "--HistoryManager.hist_file=:memory:"])
    add_hand_in(request.get("hand_in"), workdir)
    forget_shadowed(for_the_assignment, workdir)
    chown_tree(workdir, uid)
    # Its sockets are bound: the folder of every kernel's sockets (and hand-ins) can go from its view.
    _check(libc.umount2(os.path.dirname(request["run_dir"]).encode(), MNT_DETACH), "unmount the socket folders")
    for made in (os.environ.get("IPYTHONDIR"), os.environ.get("MPLCONFIGDIR")):  # made while starting
        if made and os.path.isdir(made):
            chown_tree(made, uid)
    become_checked(uid, limits)
    working_folder_importable()
    app.start()


def serve(limits: dict, data_dir: str, workdir: str, for_the_assignment: list[str]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel itself
    reply(ready=True, pid_namespace=os.readlink("/proc/self/ns/pid"))
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):  # the grader's request channel stays with the zygote
                    os.dup2(null, fd)
                run_kernel(request, limits, data_dir, workdir, for_the_assignment)
                code = 0
            except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
                try:  # for the grader, who reads it when the kernel never answers
                    with open(os.path.join(request["run_dir"], "error.txt"), "w") as f:
                        traceback.print_exc(file=f)
                except OSError:
                    pass
            finally:
                os._exit(code)
        reply(pid=pid)


def reply(**message) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> None:
    limits, data_dir, workdir = json.loads(argv[1]), argv[2], argv[3]
    # ipykernel would pick this backend itself; set it before matplotlib is imported
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    channel = os.dup(1)  # the grader's: what a module prints as it loads goes to the log instead
    os.dup2(2, 1)
    try:
        for_the_assignment = preload(argv[4:])
        warm_up()
    finally:
        sys.stdout.flush()
        os.dup2(channel, 1)
        os.close(channel)
    # Kernels share the parent's memory until they write to it; keep the garbage
    # collector from writing to (and so copying) every object they inherit.
    gc.collect()
    gc.freeze()
    serve(limits, data_dir, workdir, for_the_assignment)


def preload(modules: list[str]) -> list[str]:
    """Import the modules; those marked "?" (what the assignment's notebooks import) only if they
    can be: a kernel imports one that failed itself. Returns those of them that were imported."""
    threads = _threads()
    loaded = []
    for module in modules:
        if not module.startswith("?"):
            __import__(module)
            continue
        try:
            __import__(module[1:])
            loaded.append(module[1:])
        except Exception as error:  # noqa: BLE001 - any failure: the module is simply not loaded ahead
            print(f"not loaded ahead: {module[1:]} ({type(error).__name__}: {error})", file=sys.stderr)
    if _threads() > threads:  # forking a process with threads: a lock one held stays held in the kernel
        print(f"loading {', '.join(loaded)} ahead started threads; if kernels hang as they start, grade with "
              "--cold", file=sys.stderr)
    return loaded


def _threads() -> int:
    with open("/proc/self/status") as status:
        return next((int(line.split()[1]) for line in status if line.startswith("Threads:")), 0)


def forget_shadowed(modules: list[str], workdir: str) -> None:
    """A module loaded ahead for the assignment that a file or folder of the working folder names
    (the student's own, or the assignment's) is forgotten: `import` then finds that file, as in a
    kernel of its own. (What every kernel imports, torch and the rest, is never shadowed.)"""
    for name in modules:
        if os.path.exists(os.path.join(workdir, f"{name}.py")) or os.path.isdir(os.path.join(workdir, name)):
            for key in [k for k in sys.modules if k == name or k.startswith(f"{name}.")]:
                del sys.modules[key]


def warm_up() -> None:
    """What every kernel would otherwise do first, once: autograd's first backward pass,
    what torch imports the first time a test compares tensors (torch.testing.assert_close
    loads DTensor and sympy: half a second) or a seed is set under its compiler's guard
    (torch._dynamo), and matplotlib's first drawing (fonts, text layout). Not through
    pyplot, whose backend each kernel must choose itself, once IPython is running."""
    try:
        import torch
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return
    x = torch.linspace(0, 1, 8, requires_grad=True)
    (x.sin() ** 2).sum().backward()
    torch.testing.assert_close(x, x)
    with contextlib.suppress(Exception):  # a torch without its compiler: kernels load what they need themselves
        importlib.import_module("torch._dynamo")
    figure = Figure()
    figure.add_subplot().plot([0, 1], [0, 1], label="warm-up")
    figure.legend()
    FigureCanvasAgg(figure).draw()


if __name__ == "__main__":
    main(sys.argv)
