"""Keep tests honest inside a kernel that runs student code.

Before any student code runs, the parent installs a snapshot in the kernel of
everything a test relies on: builtins, the torch / numpy / math / matplotlib
functions tests call, IPython's input and AST transformers, its exception and
traceback handling, event callbacks, trace and profile functions, sys hooks and
streams. Before each test cell the parent asks the kernel to put all of it back
and to say what had changed; whatever had changed is flagged for a person.

The request does not go through `run_cell` (which student code can hijack with
an input transformer) but through `user_expressions`, evaluated directly by
the kernel; the snapshot lives under a random name sent only in those requests.
If the answer does not come back as expected, that itself is flagged: a kernel
whose machinery was taken over cannot vouch for its tests.
"""

from __future__ import annotations

import ast
import json
import secrets

# The snapshot's module name starts with this; the scan flags student code that names it.
SNAPSHOT_PREFIX = "_ag_"

# Executed once in the fresh kernel, before the first cell. {name} is the
# random name of the snapshot module.
INSTALL_SOURCE = r'''
def _autograder_install(name):
    import builtins, sys, threading, types, math
    import numpy, numpy.testing, torch, torch.testing, torch.autograd, torch.nn.functional
    import matplotlib, matplotlib.pyplot
    ip = get_ipython()
    # Let matplotlib pick its backend now: IPython then installs its own hooks (post_execute,
    # pyplot.draw_if_interactive), which must be part of the snapshot, not a change by the student.
    matplotlib.pyplot.figure()
    matplotlib.pyplot.close("all")
    modules = {m.__name__: m for m in (builtins, math, numpy, numpy.testing, torch, torch.testing,
               torch.autograd, torch.nn.functional, matplotlib.pyplot)}
    classes = [torch.Tensor, torch._C.TensorBase, type(ip)] + list(type(ip).__mro__[1:4])
    kernel = getattr(ip, "kernel", None)
    if kernel is not None:
        classes += list(type(kernel).__mro__[:3])
    shell_attrs = ("compile", "ast_transformers", "input_transformer_manager", "displayhook",
                   "display_pub", "InteractiveTB", "SyntaxTB", "custom_exceptions", "CustomTB")
    user_modules = {"torch": torch, "np": numpy, "numpy": numpy, "plt": matplotlib.pyplot, "math": math}
    # Builtins that IPython and ipykernel themselves replace on every execution.
    managed = {"input", "raw_input", "getpass", "get_ipython", "exit", "quit", "display"}

    def functions(namespace, dunders=False):
        # Only functions and classes: module state (e.g. pyplot's current figure) changes legitimately.
        return {k: v for k, v in namespace.items()
                if callable(v) and (dunders or not k.startswith("_")) and k not in managed}

    snap = {
        "modules": {n: functions(vars(m), dunders=(m is builtins)) for n, m in modules.items()},
        "sys_modules": dict(modules),
        "classes": [(c, functions(vars(c), dunders=True)) for c in classes],
        "shell_dict": set(vars(ip)),
        "shell_attrs": {a: getattr(ip, a) for a in shell_attrs},
        "lists": {a: list(getattr(ip, a)) for a in ("input_transformers_cleanup", "input_transformers_post",
                                                    "ast_transformers")},
        "events": {k: list(v) for k, v in ip.events.callbacks.items()},
        # (IPython swaps sys.displayhook itself on every run; exceptions in cells never reach sys.excepthook)
        "sys": {a: getattr(sys, a) for a in ("stdout", "stderr", "stdin")},
        "trace": (sys.gettrace(), sys.getprofile()),
    }

    import os
    libraries = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch, numpy, matplotlib))

    def library_wrapper(new, old):
        # torch wraps some of its own functions when a part of it loads lazily (torch._dynamo
        # wraps torch.manual_seed): a wrapper of the old function, written in the library itself.
        code = getattr(new, "__code__", None)
        return (getattr(new, "__wrapped__", None) is old and code is not None
                and code.co_filename.startswith(libraries))

    def restore():
        changed = []
        for n, saved in snap["modules"].items():
            current = vars(modules[n])
            for k, v in saved.items():
                if library_wrapper(current.get(k), v):
                    saved[k] = current[k]
                elif current.get(k) is not v:
                    changed.append(f"{n}.{k}")
                    try:
                        setattr(modules[n], k, v)
                    except (AttributeError, TypeError):
                        current[k] = v
        for n, m in snap["sys_modules"].items():
            if sys.modules.get(n) is not m:
                changed.append(f"sys.modules[{n!r}]")
                sys.modules[n] = m
        for cls, saved in snap["classes"]:
            current = functions(vars(cls), dunders=True)
            for k, v in saved.items():
                if library_wrapper(current.get(k), v):
                    saved[k] = current[k]
                elif current.get(k) is not v:
                    changed.append(f"{cls.__name__}.{k}")
                    setattr(cls, k, v)
            for k in set(current) - set(saved):
                changed.append(f"{cls.__name__}.{k}")
                delattr(cls, k)
        for k in set(vars(ip)) - snap["shell_dict"]:
            if callable(getattr(type(ip), k, None)):
                changed.append(f"shell.{k}")
                delattr(ip, k)
        for a, v in snap["shell_attrs"].items():
            if getattr(ip, a) is not v:
                changed.append(f"shell.{a}")
                setattr(ip, a, v)
        for a, saved in snap["lists"].items():
            current = getattr(ip, a)
            if list(current) != saved:
                changed.append(f"shell.{a}")
                current[:] = saved
        for k, saved in snap["events"].items():
            if ip.events.callbacks.get(k) != saved:
                changed.append(f"shell.events[{k!r}]")
                ip.events.callbacks[k] = list(saved)
        for a, v in snap["sys"].items():
            if getattr(sys, a) is not v:
                changed.append(f"sys.{a}")
                setattr(sys, a, v)
        if (sys.gettrace(), sys.getprofile()) != snap["trace"]:
            changed.append("sys.settrace/setprofile")
            sys.settrace(snap["trace"][0])
            sys.setprofile(snap["trace"][1])
        if getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None):
            changed.append("threading.settrace/setprofile")
            threading.settrace(None)
            threading.setprofile(None)
        ns = ip.user_ns
        if ns.get("__builtins__", builtins) not in (builtins, vars(builtins)):
            changed.append("__builtins__")
            ns["__builtins__"] = builtins
        for k, m in user_modules.items():
            if k in ns and ns[k] is not m:
                changed.append(f"the name {k!r}")
                ns[k] = m
        return sorted(set(changed))

    sys.modules[name] = types.SimpleNamespace(restore=restore)

    # The kernel started with the working folder off the import path (PYTHONSAFEPATH), so that no
    # file handed in could stand in for what the snapshot holds; now student code may import from it.
    if "" not in sys.path:
        where = next((i for i, p in enumerate(sys.path) if os.path.basename(p) in ("site-packages", "dist-packages")), 0)
        sys.path.insert(where, "")
    os.environ.pop("PYTHONSAFEPATH", None)  # the student's own `python script.py` behaves as usual

_autograder_install({name!r})
del _autograder_install
'''


class GuardSession:
    """The parent's side: what to send, and how to read the answer."""

    def __init__(self) -> None:
        self.name = SNAPSHOT_PREFIX + secrets.token_hex(12)
        self.nonce = secrets.token_hex(12)

    def install_code(self) -> str:
        return INSTALL_SOURCE.replace("{name!r}", repr(self.name))

    def restore_expression(self) -> str:
        # json.dumps runs in the kernel: the answer is data, never code for the parent
        return (f"__import__('json').dumps([{self.nonce!r}, "
                f"__import__('sys').modules[{self.name!r}].restore()])")

    def read_answer(self, reply_content: dict) -> tuple[bool, list[str]]:
        """(trusted, what had changed). Untrusted when the answer is missing or forged."""
        answer = reply_content.get("user_expressions", {}).get("guard", {})
        if reply_content.get("status") != "ok" or answer.get("status") != "ok":
            return False, []
        try:
            text = ast.literal_eval(answer["data"]["text/plain"])
            nonce, changed = json.loads(text)
        except (KeyError, ValueError, SyntaxError, TypeError):
            return False, []
        if nonce != self.nonce or not isinstance(changed, list):
            return False, []
        return True, [str(c) for c in changed]
