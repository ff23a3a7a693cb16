"""01_requires_grad: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

SLUG = "01_requires_grad"

_GRAPH = "backward_graph_names"
_GRAPH_TEST = "test_backward_graph_names"
_LEAVES = "leaves_reached"
_LEAVES_TEST = "test_leaves_reached"
_TWINS = "detached_twins"
_TWINS_TEST = "test_detached_twins"
_DERIVATIVE = "derivative_of"
_DERIVATIVE_TEST = "test_derivative_of"
_POLY = "poly_and_derivative"
_POLY_TEST = "test_poly_and_derivative"
_PLOT = "plot_poly_and_derivative"
_PLOT_TEST = "test_plot_poly_and_derivative"

MISTAKES = [
    # --- Exercise 1: walking the graph
    Mistake("graph_breadth_first", _GRAPH, _GRAPH_TEST, '''\
from collections import deque

def backward_graph_names(output):
    names, seen = [], set()
    queue = deque([output.grad_fn] if output.grad_fn is not None else [])
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        queue.extend(n for n, _ in node.next_functions if n is not None)
    return names''', ("breadth-first",), "walks the graph breadth-first"),
    Mistake("graph_stack_not_reversed", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return names''', ("reverse tuple order",), "an explicit stack that pops the last input first"),
    Mistake("graph_post_order", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        for next_node, _ in node.next_functions:
            visit(next_node)
        names.append(type(node).__name__)

    visit(output.grad_fn)
    return names''', ("post-order",), "lists a node after its inputs"),
    Mistake("graph_no_seen_set", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names = []

    def visit(node):
        if node is None:
            return
        names.append(type(node).__name__)
        for next_node, _ in node.next_functions:
            visit(next_node)

    visit(output.grad_fn)
    return names''', ("listed again", "set"), "no set of seen nodes: a shared node is listed once per path"),
    Mistake("graph_node_name", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        names.append(node.name())
        for next_node, _ in node.next_functions:
            visit(next_node)

    visit(output.grad_fn)
    return names''', ("type(node).__name__",), "node.name() instead of the class name"),
    Mistake("graph_follows_none", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        names.append(type(node).__name__)
        for next_node, _ in node.next_functions:
            visit(next_node)

    if output.grad_fn is None:
        return []
    visit(output.grad_fn)
    return names''', ("skip none",), "follows the None entries of next_functions"),
    Mistake("graph_skips_root", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        names.append(type(node).__name__)
        for next_node, _input_nr in node.next_functions:
            visit(next_node)

    if output.grad_fn is not None:
        for child, _ in output.grad_fn.next_functions:
            visit(child)
    return names''', ("root node", "start the walk at output.grad_fn"), "starts at the root's inputs: the root is never listed"),
    Mistake("graph_one_level", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    if output.grad_fn is None:
        return []
    names = [type(output.grad_fn).__name__]
    for child, _ in output.grad_fn.next_functions:
        if child is not None:
            names.append(type(child).__name__)
    return names''', ("stopped early", "recursively"), "lists the root and its direct inputs only"),
    Mistake("graph_skips_leaves", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node is None or node in seen or not node.next_functions:
            return
        seen.add(node)
        names.append(type(node).__name__)
        for next_node, _ in node.next_functions:
            visit(next_node)

    visit(output.grad_fn)
    return names''', ("AccumulateGrad nodes", "also those without next_functions"), "skips nodes without inputs"),
    Mistake("graph_str_of_node", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        names.append(str(node))
        for next_node, _ in node.next_functions:
            visit(next_node)

    visit(output.grad_fn)
    return names''', ("str(node)", "type(node).__name__"), "str(node) instead of the class name"),
    # --- Exercise 2: which leaves backward fills
    Mistake("leaves_by_running_backward", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    if output.grad_fn is None:
        return []
    output.backward(retain_graph=True)
    return sorted(name for name, t in named.items() if t.is_leaf and t.grad is not None)''',
            ("backward engine", "next_functions"), "runs backward() instead of walking the graph"),
    Mistake("leaves_compared_with_eq", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    leaves, seen = [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return sorted(name for name, t in named.items() if any(t == leaf for leaf in leaves))''',
            ("by identity",), "compares tensors with == instead of is"),
    Mistake("leaves_every_leaf_requiring_grad", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    if output.grad_fn is None:
        return []
    return sorted(name for name, t in named.items() if t.is_leaf and t.requires_grad)''',
            ("does not depend on it",), "every leaf that requires grad, reachable or not"),
    Mistake("leaves_every_tensor_requiring_grad", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    if output.grad_fn is None:
        return []
    return sorted(name for name, t in named.items() if t.requires_grad)''',
            ("not a leaf",), "counts non-leaves (intermediate results, casts)"),
    Mistake("leaves_unsorted", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    leaves, seen = [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return [name for name, t in named.items() if any(t is leaf for leaf in leaves)]''',
            ("sorted",), "returns the names in the order found"),
    Mistake("leaves_no_grad_fn", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    leaves, seen = [], set()
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return sorted(name for name, t in named.items() if any(t is leaf for leaf in leaves))''',
            ("grad_fn is none",), "does not handle an output without grad_fn"),
    Mistake("leaves_shallow_walk", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    leaves = []
    if output.grad_fn is not None:
        for node, _ in output.grad_fn.next_functions:     # one level only, no recursion
            if node is not None and hasattr(node, "variable"):
                leaves.append(node.variable)
    return sorted(name for name, t in named.items() if any(t is leaf for leaf in leaves))''',
            ("missing, although output depends on them", "every node it reaches"),
            "looks only at the root's direct inputs instead of walking the whole graph"),
    Mistake("leaves_variable_on_every_node", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(output, named):
    leaves, seen = [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        leaves.append(node.variable)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return sorted(name for name, t in named.items() if any(t is leaf for leaf in leaves))''',
            ("only AccumulateGrad nodes", "hasattr(node, 'variable')"), "reads node.variable on every node"),
    # --- Exercise 3: detached twins
    Mistake("twins_alias_is_t", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t, t.detach().clone()''', ("t itself",), "returns t as the alias"),
    Mistake("twins_clone_keeps_history", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t.detach(), t.clone()''', ("keeps the history", "detach first"), "clone() without detach()"),
    Mistake("twins_alias_copied", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t.detach().clone(), t.detach().clone()''', ("share storage",), "the alias is a copy"),
    Mistake("twins_snapshot_shares", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t.detach(), t.detach()''', ("own memory",), "the snapshot shares t's memory"),
    Mistake("twins_detach_in_place", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    snapshot = t.detach().clone()
    return t.detach_(), snapshot''', ("detach_()",), "detach_() detaches t itself"),
    Mistake("twins_clone_then_requires_grad_false", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    alias = t.detach()
    snapshot = t.clone().requires_grad_(False)   # "turn history off" on the copy
    return alias, snapshot''', ("works only on a leaf", "t.detach().clone()"),
            "requires_grad_(False) on a non-leaf clone to strip its history"),
    Mistake("twins_deepcopy", _TWINS, _TWINS_TEST, '''\
import copy

def detached_twins(t):
    return t.detach(), copy.deepcopy(t)''', ("deepcopy works only on leaves", "t.detach().clone()"),
            "copy.deepcopy of a tensor with history"),
    Mistake("twins_snapshot_empty_like", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t.detach(), torch.empty_like(t.detach()).zero_()''', ("not t's values", "zeros_like/empty_like"),
            "a new tensor of t's shape instead of a copy of its values"),
    # --- Exercise 5: derivative_of
    Mistake("derivative_with_history", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx, dfdx''', ("without history",), "returns f(x) still attached to the graph"),
    Mistake("derivative_modifies_caller_x", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x.requires_grad_()
    fx = f(x)
    (dfdx,) = torch.autograd.grad(fx.sum(), x)
    return fx.detach(), dfdx''', ("caller's x",), "switches requires_grad on for the caller's x"),
    Mistake("derivative_without_sum", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx, x_leaf)
    return fx.detach(), dfdx''', ("fx.sum()",), "differentiates a vector without summing it"),
    Mistake("derivative_leaf_not_requiring_grad", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx.detach(), dfdx''', ("does not require grad", "requires_grad_()"),
            "differentiates with respect to a tensor that does not require grad"),
    Mistake("derivative_reads_caller_grad", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    fx.sum().backward()
    return fx.detach(), x.grad''', ("dfdx is none", "your fresh leaf"), "reads .grad of the caller's x"),
    Mistake("derivative_swapped", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return dfdx, fx.detach()''', ("swapped",), "returns (dfdx, fx)"),
    Mistake("derivative_mean_not_sum", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.mean(), x_leaf)
    return fx.detach(), dfdx''', ("fx.mean()", "divides every derivative"), "mean() instead of sum(): every derivative / n"),
    Mistake("derivative_f_of_caller_x", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx.detach(), dfdx''', ("evaluated on the caller's x", "f(x_leaf)"), "makes a leaf, but evaluates f on the caller's x"),
    Mistake("derivative_under_no_grad", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    with torch.no_grad():               # "f itself needs no gradient"
        fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx, dfdx''', ("tracking off", "no_grad()"), "evaluates f under torch.no_grad()"),
    Mistake("derivative_tuple_not_unpacked", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    dfdx = torch.autograd.grad(fx.sum(), x_leaf)
    return fx.detach(), dfdx''', ("a tuple", "unpack"), "keeps the tuple torch.autograd.grad returns"),
    Mistake("derivative_backward_twice", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    fx.sum().backward(retain_graph=True)
    print("dfdx:", x_leaf.grad)          # a check ...
    fx.sum().backward()                  # ... and the "real" pass
    return fx.detach(), x_leaf.grad''', ("2 times", "accumulates"), "a second backward pass adds up in .grad"),
    Mistake("derivative_no_backward", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    return fx.detach(), x_leaf.grad''', ("dfdx is none", "no gradient reached"), "never runs a backward pass"),
    Mistake("derivative_wrt_fx", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), fx)
    return fx.detach(), dfdx''', ("with respect to fx itself",), "differentiates with respect to fx, not the leaf"),
    # --- Exercise 6: the polynomial
    Mistake("poly_swapped", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    y, dydx = derivative_of(lambda t: t ** 3 - 6 * t ** 2 + 8 * t, x)
    return dydx, y''', ("swapped",), "returns (dydx, y)"),
    Mistake("poly_with_history", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    t = x.detach().requires_grad_()
    y = t ** 3 - 6 * t ** 2 + 8 * t
    (dydx,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    return y, dydx''', ("without history",), "returns y and dy/dx still attached to the graph"),
    Mistake("poly_without_sum", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    t = x.detach().requires_grad_()
    y = t ** 3 - 6 * t ** 2 + 8 * t
    y.backward()
    return y.detach(), t.grad''', ("y.sum()",), "backward() on a vector"),
    Mistake("poly_modifies_caller_x", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    x.requires_grad_()
    y = x ** 3 - 6 * x ** 2 + 8 * x
    (dydx,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), dydx''', ("caller's x",), "switches requires_grad on for the caller's x"),
    Mistake("poly_typo", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    return derivative_of(lambda t: t ** 3 - 6 * t ** 2 + 8, x)''', ("x**3 - 6*x**2 + 8*x",),
            "a typo in the polynomial"),
    Mistake("poly_lambda_uses_outer_x", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    return derivative_of(lambda t: x ** 3 - 6 * x ** 2 + 8 * x, x)''', ("computed from the caller's x", "use t, not x"),
            "the lambda's body uses the outer x instead of its argument t"),
    Mistake("poly_mean_not_sum", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    t = x.detach().requires_grad_()
    y = t ** 3 - 6 * t ** 2 + 8 * t
    y.mean().backward()
    return y.detach(), t.grad''', ("y.mean()", "divides every derivative"), "backward on y.mean()"),
    Mistake("poly_returns_nothing", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    y, dydx = derivative_of(lambda t: t ** 3 - 6 * t ** 2 + 8 * t, x)''', ("returned none",), "forgets the return"),
    Mistake("poly_leaf_without_requires_grad", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    t = x.detach()
    y = t ** 3 - 6 * t ** 2 + 8 * t
    (dydx,) = torch.autograd.grad(y.sum(), t)
    return y, dydx''', ("does not require grad", ".requires_grad_()"), "x.detach() without requires_grad_()"),
    # --- Exercise 7: the plot
    Mistake("plot_wrong_order", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.legend()
    return fig''', ("wrong order",), "plots dy/dx first"),
    Mistake("plot_returns_nothing", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    ax.legend()
    plt.show()''', ("return the figure",), "shows the figure and returns nothing"),
    Mistake("plot_ignores_n", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, 200)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    return fig''', ("linspace(0, 5, n)",), "always 200 points"),
    Mistake("plot_no_labels", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy())
    ax.plot(x.numpy(), dydx.numpy())
    return fig''', ("label the first two lines",), "lines without labels"),
    Mistake("plot_grid_with_arange", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.arange(0, 5, 5 / n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    return fig''', ("end point 5 is left out", "arange"), "arange stops before 5"),
    Mistake("plot_against_index", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(y.numpy(), label="y")
    ax.plot(dydx.numpy(), label="dy/dx")
    return fig''', ("the indices", "ax.plot(x, values)"), "plots against the index"),
    Mistake("plot_values_crossed", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), dydx.numpy(), label="y")
    ax.plot(x.numpy(), y.numpy(), label="dy/dx")
    return fig''', ("it shows dy/dx", "wrong ax.plot call"), "labels right, values crossed"),
    # --- Found while generalising the visible tests (mistakes nobody had listed)
    Mistake("graph_seen_by_name", _GRAPH, _GRAPH_TEST, '''\
def backward_graph_names(output):
    names = []
    def visit(node):
        if node is None or type(node).__name__ in names:
            return
        names.append(type(node).__name__)
        for nxt, _ in node.next_functions:
            visit(nxt)
    visit(output.grad_fn)
    return names''',
            ("share a class name", "not their names"), "a seen set of class names skips a second AccumulateGrad"),
    Mistake("leaves_arguments_swapped", _LEAVES, _LEAVES_TEST, '''\
def leaves_reached(named, output):
    leaves, stack = [], [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if hasattr(node, "variable"):
            leaves.append(node.variable)
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return sorted(k for k, t in named.items() if any(t is l for l in leaves))''',
            ("order (output, named)",), "defines leaves_reached(named, output)"),
    Mistake("twins_snapshot_float64", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t.detach(), t.detach().double()''',
            ("dtype",), "the snapshot changes dtype"),
    Mistake("twins_snapshot_requires_grad", _TWINS, _TWINS_TEST, '''\
def detached_twins(t):
    return t.detach(), t.detach().clone().requires_grad_()''',
            ("requires grad", "new leaf"), "the snapshot is a new leaf that requires grad"),
    Mistake("derivative_zeroes_after_reading", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    fx.sum().backward()
    dfdx = x_leaf.grad
    x_leaf.grad.zero_()           # tidy up
    return fx.detach(), dfdx''',
            ("all zeros", "zeroed after backward"), "zeroes .grad after reading it: dfdx is that same tensor"),
    Mistake("derivative_returns_the_sum", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf).sum()
    (dfdx,) = torch.autograd.grad(fx, x_leaf)
    return fx.detach(), dfdx''',
            ("not the sum",), "returns fx.sum() as fx"),
    Mistake("derivative_through_item", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    total = torch.tensor(fx.sum().item())
    (dfdx,) = torch.autograd.grad(total, x_leaf)
    return fx.detach(), dfdx''',
            ("cut", ".item()"), "rebuilds the sum from .item(): the graph is cut"),
    Mistake("derivative_wrt_caller_x", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x)
    return fx.detach(), dfdx''',
            ("with respect to a tensor that does not require grad",), "differentiates with respect to the caller's x"),
    Mistake("derivative_arguments_swapped", _DERIVATIVE, _DERIVATIVE_TEST, '''\
def derivative_of(x, f):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx.detach(), dfdx''',
            ("order (f, x)",), "defines derivative_of(x, f)"),
    Mistake("poly_under_no_grad", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    with torch.no_grad():
        return derivative_of(lambda t: t ** 3 - 6 * t ** 2 + 8 * t, x)''',
            ("tracking off", "no_grad()"), "calls derivative_of inside torch.no_grad()"),
    Mistake("poly_inline_uses_caller_x", _POLY, _POLY_TEST, '''\
def poly_and_derivative(x):
    t = x.detach().requires_grad_()
    y = x ** 3 - 6 * x ** 2 + 8 * x
    y.sum().backward()
    return y.detach(), t.grad''',
            ("computed from the caller's x",), "makes a leaf t, then writes the polynomial in x"),
    Mistake("plot_wrong_range", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(1, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    return fig''',
            ("runs from 1 to 5", "linspace(0, 5, n)"), "a grid from 1 instead of 0"),
    Mistake("plot_on_another_figure", _PLOT, _PLOT_TEST, '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y, dydx = poly_and_derivative(x)
    fig, ax = plt.subplots()
    plt.figure()
    plt.plot(x.numpy(), y.numpy(), label="y")
    plt.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    return fig''',
            ("no lines", "another figure"), "plt.figure() then plt.plot: the returned fig stays empty"),
    # --- round 2 of typical mistakes (issue 12)
    Mistake("graph_follows_first_input_only", "backward_graph_names", "test_backward_graph_names", '''\
def backward_graph_names(output):
    names = []
    node = output.grad_fn
    while node is not None:               # walk down the chain
        names.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    return names''',
            ('stopped early',), 'walks the graph as a chain, following only the first entry of next_functions'),
    Mistake("graph_state_at_module_level", "backward_graph_names", "test_backward_graph_names", '''\
names, seen = [], set()


def backward_graph_names(output):
    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        names.append(type(node).__name__)
        for next_node, _ in node.next_functions:
            visit(next_node)

    visit(output.grad_fn)
    return names''',
            ('earlier call', 'inside backward_graph_names'), 'keeps names/seen at module level: not reset between calls'),
    Mistake("leaves_returns_tensors", "leaves_reached", "test_leaves_reached", '''\
def leaves_reached(output, named):
    leaves, seen = [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):          # AccumulateGrad: the end of a path, at a leaf
            leaves.append(node.variable)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return leaves''',
            ('names',), 'returns the leaf tensors found, not their names'),
    Mistake("twins_returned_swapped", "detached_twins", "test_detached_twins", '''\
def detached_twins(t):
    alias = t.detach()              # same storage, no history
    snapshot = t.detach().clone()   # detach first, so the copy is not recorded in the graph
    return snapshot, alias''',
            ('wrong way round',), 'returns (snapshot, alias): argument order'),
    Mistake("derivative_create_graph", "derivative_of", "test_derivative_of", '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()   # a fresh leaf on the same storage; the caller's x is untouched
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf, create_graph=True)
    return fx.detach(), dfdx''',
            ('create_graph', 'dfdx has history'), "passes create_graph=True 'to be safe': dfdx keeps a graph"),
    Mistake("poly_call_arguments_swapped", "poly_and_derivative", "test_poly_and_derivative", '''\
def poly_and_derivative(x):
    return derivative_of(x, lambda t: t ** 3 - 6 * t ** 2 + 8 * t)''',
            ('(f, x)', 'derivative_of(x, f)'), 'calls derivative_of(x, f): arguments swapped at the call site'),
    # --- round 3 of typical mistakes (issue 12 item 3)
    Mistake('graph_walks_from_the_tensor', 'backward_graph_names', 'test_backward_graph_names', '''\
def backward_graph_names(output):
    names, seen = [], set()

    def visit(node):
        if node is None or node in seen:
            return
        seen.add(node)
        names.append(type(node).__name__)
        for next_node, _input_nr in node.next_functions:
            visit(next_node)

    visit(output)
    return names''',
            ('grad_fn',), 'starts the walk at the tensor, not at output.grad_fn'),
    Mistake('leaves_stores_the_node', 'leaves_reached', 'test_leaves_reached', '''\
def leaves_reached(output, named):
    leaves, seen = [], set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):          # AccumulateGrad: the end of a path, at a leaf
            leaves.append(node)
        stack.extend(nxt for nxt, _ in node.next_functions if nxt is not None)
    return sorted(name for name, t in named.items() if any(t is leaf for leaf in leaves))''',
            ('node.variable',), 'collects the AccumulateGrad nodes themselves, not node.variable, so no tensor is ever matched'),
    Mistake('twins_alias_is_a_view', 'detached_twins', 'test_detached_twins', '''\
def detached_twins(t):
    alias = t.view(t.shape)         # a view shares the storage
    snapshot = t.detach().clone()   # detach first, so the copy is not recorded in the graph
    return alias, snapshot''',
            ('no history', 'detach()'), 'takes a view as the alias (same storage) but a view keeps the history'),
    Mistake('derivative_detaches_fx_first', 'derivative_of', 'test_derivative_of', '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf).detach()              # 'return tensors without history'
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx, dfdx''',
            ('cut between f and the backward pass',), 'detaches f(x) right after computing it (the return must carry no history), then differentiates it'),
    Mistake('derivative_reads_leaf_grad_twice', 'derivative_of', 'test_derivative_of', '''\
_x_leaves = {}
def derivative_of(f, x):
    key = (x.data_ptr(), tuple(x.shape))
    x_leaf = _x_leaves.setdefault(key, x.detach().requires_grad_())   # reuse the leaf for the same x
    fx = f(x_leaf)
    fx.sum().backward()
    return fx.detach(), x_leaf.grad.clone()''',
            ('earlier call', 'fresh leaf'), 'caches the leaf per input and reads x_leaf.grad after backward(): never zeroed, a second call adds'),
    Mistake('poly_caret_for_power', 'poly_and_derivative', 'test_poly_and_derivative', '''\
def poly_and_derivative(x):
    return derivative_of(lambda t: t ^ 3 - 6 * t ^ 2 + 8 * t, x)''',
            ('bitwise xor', '**'), 'writes the powers with ^ (bitwise xor in Python), as in maths notation'),

]


# Round 4 (issue 12 item 3): messages that name a cause only after checking it
MISTAKES += [
    Mistake('plot_zero_line_first', 'plot_poly_and_derivative', 'test_plot_poly_and_derivative', '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n, device=DEVICE)
    y, dydx = poly_and_derivative(x)
    xs = x.cpu().numpy()                     # x, y and dydx carry no history: only the device move is left
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.axhline(0, color="0.7", lw=0.8)
    ax.plot(xs, y.cpu().numpy(), label="y")
    ax.plot(xs, dydx.cpu().numpy(), label="dy/dx")
    ax.set(xlabel="x", title="$y = x^3 - 6x^2 + 8x$ and its derivative")
    ax.legend()
    return fig''',
            ('horizontal line', 'drawn before them'), 'draws the zero line before the two curves: it becomes the first line of the axes'),
]
