"""Read student code before it runs and flag what reaches for the machinery
that could defeat a test: IPython's transformers and exception handling, trace
hooks, builtins, the modules tests call, frames and the garbage collector, or
code built at run time. A flag sends the cell to a person; it takes no points.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

from .guard import SNAPSHOT_PREFIX

# Any mention of these names is a reach into the grader's or IPython's machinery.
MACHINERY = {
    "get_ipython": "IPython's shell",
    "InteractiveShell": "IPython's shell",
    "input_transformers_cleanup": "IPython's input transformers",
    "input_transformers_post": "IPython's input transformers",
    "input_transformer_manager": "IPython's input transformers",
    "ast_transformers": "IPython's AST transformers",
    "set_custom_exc": "IPython's exception handling",
    "custom_exceptions": "IPython's exception handling",
    "CustomTB": "IPython's exception handling",
    "showtraceback": "IPython's traceback display",
    "showsyntaxerror": "IPython's traceback display",
    "InteractiveTB": "IPython's traceback display",
    "run_cell": "IPython's cell execution",
    "run_ast_nodes": "IPython's cell execution",
    "run_code": "IPython's cell execution",
    "transform_cell": "IPython's cell execution",
    "user_expressions": "the kernel's protocol",
    "do_execute": "the kernel's protocol",
    "settrace": "trace functions",
    "setprofile": "trace functions",
    "gettrace": "trace functions",
    "excepthook": "the exception hook",
    "displayhook": "the display hook",
    "builtins": "the builtins",
    "__builtins__": "the builtins",
    "_getframe": "interpreter frames",
    "currentframe": "interpreter frames",
    "f_back": "interpreter frames",
    "f_globals": "interpreter frames",
    "f_locals": "interpreter frames",
    "__globals__": "function internals",
    "__code__": "function internals",
    "__closure__": "function internals",
    "__subclasses__": "class internals",
    "get_referrers": "the garbage collector",
    "get_objects": "the garbage collector",
    "ctypes": "raw memory (ctypes)",
    "importlib": "the import system",
    "__import__": "the import system",
    # Autograd's engine and torch's dispatch, reached past the public API: how a
    # hand-in would get around a test that refuses autograd or watches its ops.
    "_execution_engine": "autograd's engine",
    "_ImperativeEngine": "autograd's engine",
    "run_backward": "autograd's engine",
    "_engine_run_backward": "autograd's engine",
    "_current_graph_task_id": "autograd's engine",
    "DisableTorchFunction": "torch's function modes",
    "_pop_mode_temporarily": "torch's function modes",
    "_pop_torch_function_stack": "torch's function modes",
    "_make_subclass": "tensor internals",
    # Work done where a test's refusals do not reach: another thread or process,
    # or TorchScript's own autograd.
    "threading": "threads",
    "multiprocessing": "other processes",
    "fork": "other processes",
    "jit": "TorchScript",
}
DYNAMIC_CODE = {"exec", "eval", "compile"}
# Modules (and the names the course binds them to) whose attributes tests call.
PROTECTED_ROOTS = {"torch", "np", "numpy", "math", "plt", "matplotlib", "sys", "IPython", "ipykernel", "nbformat"}
STREAMS = {"stdout", "stderr", "stdin"}
# IPython turns `%magic` and `!command` into get_ipython() calls. These are
# ordinary in a student's notebook; any other magic or shell command is flagged.
HARMLESS_MAGICS = {"time", "timeit", "matplotlib", "pip", "who", "whos"}
MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}


@dataclass(frozen=True)
class Finding:
    line: int
    what: str

    def sentence(self) -> str:
        return f"line {self.line}: {self.what}"


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - only for the message
        return "?"


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0), what))

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in MACHINERY:
            self.add(node, f"uses {node.id} ({MACHINERY[node.id]})")
        elif node.id in DYNAMIC_CODE:
            self.add(node, f"uses {node.id}() (code built at run time cannot be checked)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("__dict__", "__self__"):
            self.add(node, f"uses .{node.attr} (reaches objects behind a name)")
        elif node.attr in MACHINERY:
            self.add(node, f"uses .{node.attr} ({MACHINERY[node.attr]})")
        elif node.attr == "modules" and _root_name(node) == "sys":
            self.add(node, "uses sys.modules (the import system)")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # getattr(x, "set" "trace") and friends: names hidden in strings
        if isinstance(node.value, str) and node.value in MACHINERY:
            self.add(node, f"names {node.value!r} in a string ({MACHINERY[node.value]})")
        elif isinstance(node.value, str) and (node.value in ("modules", "__dict__", "__self__")
                                              or node.value.startswith(SNAPSHOT_PREFIX)):
            self.add(node, f"names {node.value!r} in a string (the interpreter's internals)")

    def _check_target(self, target: ast.AST, verb: str) -> None:
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            root = _root_name(target)
            if root in PROTECTED_ROOTS:
                self.add(target, f"{verb} {_dotted(target)} (replaces what the tests call)")
            elif isinstance(target, ast.Attribute) and target.attr in STREAMS:
                self.add(target, f"{verb} {_dotted(target)} (replaces an output stream)")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element, verb)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target, "assigns")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target, "assigns")
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target, "deletes")
        self.generic_visit(node)

    def _magic(self, node: ast.Call) -> str | None:
        """The magic or shell command this call stands for, if it is one IPython wrote."""
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in MAGIC_CALLS and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            return f"!{node.args[0].value}" if func.attr in ("system", "getoutput") else node.args[0].value
        return None

    def visit_Call(self, node: ast.Call) -> None:
        magic = self._magic(node)
        if magic is not None:
            harmless = (magic.split()[0] in HARMLESS_MAGICS if not magic.startswith("!")
                        else magic[1:].split()[:1] == ["pip"] or magic[1:].startswith("python -m pip"))
            if not harmless:
                self.add(node, f"runs {'the shell command ' + magic if magic.startswith('!') else '%' + magic}")
            for arg in node.args[1:]:
                self.visit(arg)
            return
        patches = (isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr", "vars", "getattr")
                   and node.args)
        if patches and _root_name(node.args[0]) in PROTECTED_ROOTS:
            self.add(node, f"calls {node.func.id}() on {_dotted(node.args[0])} (reaches what the tests call)")
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._check_module(node, node.module or "")
        for alias in node.names:
            if alias.name in MACHINERY:
                self.add(node, f"imports {alias.name} ({MACHINERY[alias.name]})")

    def _check_module(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if module == "IPython.display":
            return  # display(), HTML(), Image(): ordinary notebook code
        if top in ("gc", "ctypes", "importlib", "builtins", "IPython", "ipykernel", "inspect"):
            self.add(node, f"imports {module} (reaches into the interpreter)")
        elif top in MACHINERY:
            self.add(node, f"imports {module} ({MACHINERY[top]})")


def scan_source(source: str) -> list[Finding]:
    """Findings in one cell of student code (IPython syntax allowed)."""
    try:
        python = TransformerManager().transform_cell(source)
        tree = ast.parse(python)
    except SyntaxError:
        return []  # the kernel will report it as an error in the cell itself
    scanner = _Scanner()
    scanner.visit(tree)
    unique = {(f.line, f.what): f for f in scanner.findings}
    return sorted(unique.values(), key=lambda f: f.line)
