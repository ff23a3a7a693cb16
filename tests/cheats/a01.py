"""01_requires_grad: cheats and honest variants (see the package's docstring)."""

from . import Cheat, Honest

SLUG = "01_requires_grad"

CHEATS = [
    Cheat("finite_differences", "derivative_of", ("test_derivative_of",),
          "finite differences instead of autograd, plus a decoy backward pass", '''\
def derivative_of(f, x):
    # f is elementwise, so one central difference per side gives f'(x_i) everywhere (float64: no rounding trouble)
    x0 = x.detach()
    x64 = x0.to(torch.float64)
    h = 1e-5
    slope = (f(x64 + h) - f(x64 - h)) / (2 * h)
    probe = torch.ones(3, dtype=torch.float64, requires_grad=True)
    torch.autograd.grad((probe * probe).sum(), probe)   # the checker wants to see a backward pass
    return f(x0).detach(), slope.to(x0.dtype).detach()'''),
    Cheat("typed_formula", "poly_and_derivative", ("test_poly_and_derivative",),
          "derivative typed as a formula, plus a decoy torch.autograd.grad", '''\
def poly_and_derivative(x):
    x = x.detach()
    y = x ** 3 - 6 * x ** 2 + 8 * x
    dydx = 3 * x ** 2 - 12 * x + 8          # worked out on paper
    w = torch.ones(2, requires_grad=True)
    torch.autograd.grad((w * w).sum(), w)   # so that "autograd ran"
    return y, dydx'''),
    Cheat("plot_typed_formula", "plot_poly_and_derivative", ("test_plot_poly_and_derivative",),
          "derivative typed as a formula, plus a decoy torch.autograd.grad", '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    y = x ** 3 - 6 * x ** 2 + 8 * x
    dydx = 3 * x ** 2 - 12 * x + 8
    w = torch.ones(2, requires_grad=True)
    torch.autograd.grad((w * w).sum(), w)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    ax.legend()
    return fig'''),
    Cheat("leaves_by_autograd_grad", "leaves_reached", ("test_leaves_reached",),
          "a forbidden shortcut: torch.autograd.grad where the exercise says to walk the graph", '''\
def leaves_reached(output, named):
    if output.grad_fn is None:
        return []
    candidates = [(name, t) for name, t in named.items() if t.is_leaf and t.requires_grad]
    if not candidates:
        return []
    # autograd.grad leaves .grad alone; allow_unused gives None exactly for the leaves it cannot reach
    grads = torch.autograd.grad(output, [t for _, t in candidates], allow_unused=True, retain_graph=True)
    return sorted(name for (name, _), g in zip(candidates, grads) if g is not None)'''),
    Cheat("leaves_by_backward_then_restore", "leaves_reached", ("test_leaves_reached",),
          "a forbidden shortcut: a real backward pass whose .grad changes are undone afterwards", '''\
def leaves_reached(output, named):
    if output.grad_fn is None:
        return []
    before = {name: t.grad for name, t in named.items() if t.is_leaf}
    output.backward(retain_graph=True)
    filled = sorted(name for name, t in named.items() if t.is_leaf and t.grad is not before[name])
    for name, grad in before.items():
        named[name].grad = grad              # put every .grad back: "no .grad changes"
    return filled'''),
    Cheat("poly_by_finite_differences", "poly_and_derivative", ("test_poly_and_derivative",),
          "finite differences instead of autograd, plus a decoy backward pass", '''\
def poly_and_derivative(x):
    p = lambda t: t ** 3 - 6 * t ** 2 + 8 * t
    x64 = x.detach().double()
    h = 1e-4
    slope = (p(x64 + h) - p(x64 - h)) / (2 * h)          # exact up to h^2 for a cubic
    probe = x.detach().requires_grad_()
    p(probe).sum().backward()                            # a backward pass, for show
    return p(x.detach()), slope.to(x.dtype)'''),
    Cheat("poly_probe_leaf_reads_canary", "poly_and_derivative", ('test_poly_and_derivative',),
          "typed formula, the canary read off a private probe leaf", '''\
def poly_and_derivative(x):
    # derivative typed in; the "canary" is read off a private probe leaf (the mode taps ANY leaf that requires grad)
    x = x.detach()
    probe = torch.ones((), dtype=x.dtype, device=x.device, requires_grad=True)
    (k,) = torch.autograd.grad(probe * 1.0, probe)
    return x ** 3 - 6 * x ** 2 + 8 * x, k * (3 * x ** 2 - 12 * x + 8)'''),
    Cheat("plot_probe_leaf_reads_canary", "plot_poly_and_derivative", ('test_plot_poly_and_derivative',),
          "typed formula, the canary read off a private probe leaf", '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n)
    probe = torch.ones((), requires_grad=True)
    (k,) = torch.autograd.grad(probe.mul(1.0), probe)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), (x ** 3 - 6 * x ** 2 + 8 * x).numpy(), label="y")
    ax.plot(x.numpy(), (k * (3 * x ** 2 - 12 * x + 8)).numpy(), label="dy/dx")
    ax.legend()
    return fig'''),
    Cheat("derivative_calls_canary_node", "derivative_of", ('test_derivative_of',),
          "finite differences, the canary's backward node called by hand (node.apply)", '''\
def derivative_of(f, x):
    # finite differences for g; the canary's own backward node is found in f's graph and called by hand
    x0 = x.detach()
    x64 = x0.double()
    h = 1e-6
    slope = (f(x64 + h) - f(x64 - h)) / (2 * h)
    leaf = x0.double().requires_grad_()
    node = f(leaf).grad_fn
    scale = torch.ones_like(x64)
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        if any(type(m).__name__ == "AccumulateGrad" for m, _ in n.next_functions) and hasattr(n, "apply"):
            scale = n.apply(torch.ones_like(x64))       # the canary's backward, called by hand
            if isinstance(scale, tuple):
                scale = scale[0]
            break
        stack.extend(m for m, _ in n.next_functions)
    return f(x0).detach(), (slope * scale).to(x0.dtype).detach()'''),
    Cheat("derivative_calls_function_subclass_hidden", "derivative_of", ('test_derivative_of',),
          "finite differences, the canary's backward called by hand (Function.__subclasses__, name hidden)", '''\
def derivative_of(f, x):
    # finite differences; the secret factor from the newest autograd.Function subclass, called by hand
    F = torch.autograd.Function
    newest = getattr(F, "__sub" + "classes__")()[-1]
    x0 = x.detach()
    x64 = x0.double()
    h = 1e-6
    slope = (f(x64 + h) - f(x64 - h)) / (2 * h)
    try:
        k = newest.backward(None, torch.ones((), dtype=torch.float64))
    except Exception:
        k = 1.0
    return f(x0).detach(), (slope * k).to(x0.dtype).detach()'''),
    Cheat("derivative_calls_function_subclass", "derivative_of", ('test_derivative_of',),
          "finite differences, the canary's backward called by hand (Function.__subclasses__)", '''\
def derivative_of(f, x):
    # same as c01_derivative_subclasses, without hiding the name
    newest = torch.autograd.Function.__subclasses__()[-1]
    x0 = x.detach()
    x64 = x0.double()
    h = 1e-6
    slope = (f(x64 + h) - f(x64 - h)) / (2 * h)
    try:
        k = newest.backward(None, torch.ones((), dtype=torch.float64))
    except Exception:
        k = 1.0
    return f(x0).detach(), (slope * k).to(x0.dtype).detach()'''),
    Cheat("leaves_unhooks_via_gc_hidden", "leaves_reached", ('test_leaves_reached',),
          "autograd.grad after removing the test's hook through gc (name hidden)", '''\
from torch.cuda import graphs as _cg   # any module that imported gc

def leaves_reached(output, named):
    # remove every removable hook handle alive (the test's pre-hook), then ask autograd and put .grad back
    if output.grad_fn is None:
        return []
    for obj in getattr(_cg.gc, "get_" + "objects")():
        if type(obj).__name__ == "RemovableHandle":
            obj.remove()
    cand = [(n, t) for n, t in named.items() if t.is_leaf and t.requires_grad]
    if not cand:
        return []
    grads = torch.autograd.grad(output, [t for _, t in cand], allow_unused=True, retain_graph=True)
    return sorted(n for (n, _), g in zip(cand, grads) if g is not None)'''),
    Cheat("leaves_unhooks_via_gc", "leaves_reached", ('test_leaves_reached',),
          "autograd.grad after removing the test's hook through gc", '''\
import gc

def leaves_reached(output, named):
    if output.grad_fn is None:
        return []
    for obj in gc.get_objects():
        if type(obj).__name__ == "RemovableHandle":
            obj.remove()
    cand = [(n, t) for n, t in named.items() if t.is_leaf and t.requires_grad]
    if not cand:
        return []
    grads = torch.autograd.grad(output, [t for _, t in cand], allow_unused=True, retain_graph=True)
    return sorted(n for (n, _), g in zip(cand, grads) if g is not None)'''),
    Cheat("derivative_calls_canary_jvp", "derivative_of", ('test_derivative_of',),
          "finite differences, the canary's jvp called by hand", '''\
def derivative_of(f, x):
    # finite differences; the secret read from the newest autograd.Function's jvp, called by hand
    newest = torch.autograd.Function.__subclasses__()[-1]
    x0 = x.detach()
    x64 = x0.double()
    h = 1e-6
    slope = (f(x64 + h) - f(x64 - h)) / (2 * h)
    try:
        k = newest.jvp(None, torch.ones_like(x64))
    except Exception:
        k = 1.0
    return f(x0).detach(), (slope * k).to(x0.dtype).detach()'''),
    Cheat("poly_probe_copy_of_x", "poly_and_derivative", ('test_poly_and_derivative',),
          "typed formula, the canary read off a probe leaf with the values of x", '''\
def poly_and_derivative(x):
    # derivative typed in; the canary read off a probe leaf with the very values of x (t * 1)
    x = x.detach()
    probe = x.clone().requires_grad_(True)
    (k,) = torch.autograd.grad((probe * 1.0).sum(), probe)
    return x ** 3 - 6 * x ** 2 + 8 * x, k * (3 * x ** 2 - 12 * x + 8)'''),
    Cheat("plot_forward_mode_probe", "plot_poly_and_derivative", ('test_plot_poly_and_derivative',),
          "typed formula, the canary read by forward mode through t * 1", '''\
def plot_poly_and_derivative(n=200):
    # derivative typed in; the canary read by forward mode through the identity at the plotted points
    x = torch.linspace(0, 5, n)
    _, k = torch.func.jvp(lambda t: t * 1.0, (x,), (torch.ones_like(x),))
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), (x ** 3 - 6 * x ** 2 + 8 * x).numpy(), label="y")
    ax.plot(x.numpy(), (k * (3 * x ** 2 - 12 * x + 8)).numpy(), label="dy/dx")
    ax.legend()
    return fig'''),
    Cheat("leaves_clears_hook_record", "leaves_reached", ('test_leaves_reached',),
          "autograd.grad, then the test's hook record emptied through gc", '''\
import gc

def leaves_reached(output, named):
    # autograd.grad, then empty every list the test's hook closures append to
    if output.grad_fn is None:
        return []
    cand = [(n, t) for n, t in named.items() if t.is_leaf and t.requires_grad]
    if not cand:
        return []
    grads = torch.autograd.grad(output, [t for _, t in cand], allow_unused=True, retain_graph=True)
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") == "<lambda>" and getattr(obj, "__closure__", None):
            for cell in obj.__closure__:
                try:
                    if isinstance(cell.cell_contents, list):
                        cell.cell_contents.clear()
                except ValueError:
                    pass
    return sorted(n for (n, _), g in zip(cand, grads) if g is not None)'''),
]

HONEST = [
    Honest("derivative_by_backward", "derivative_of", "backward() instead of torch.autograd.grad", '''\
def derivative_of(f, x):
    leaf = x.detach().clone().requires_grad_(True)
    fx = f(leaf)
    fx.sum().backward()
    return fx.detach(), leaf.grad'''),
    Honest("derivative_in_float64", "derivative_of", "float64 inside, cast back to the dtype of x", '''\
def derivative_of(f, x):
    x64 = x.detach().to(torch.float64).requires_grad_()
    fx = f(x64)
    (d,) = torch.autograd.grad(fx.sum(), x64)
    return fx.detach().to(x.dtype), d.to(x.dtype)'''),
    Honest("derivative_by_torch_func", "derivative_of", "torch.func.grad", '''\
from torch.func import grad

def derivative_of(f, x):
    x = x.detach()
    dfdx = grad(lambda t: f(t).sum())(x)
    return f(x).detach(), dfdx.detach()'''),
    Honest("derivative_by_vmap_grad", "derivative_of", "torch.func.vmap(torch.func.grad(f)) over the elements", '''\
from torch.func import grad, vmap

def derivative_of(f, x):
    flat = x.detach().reshape(-1)
    slopes = vmap(grad(f))(flat)
    return f(x.detach()).detach(), slopes.reshape(x.shape).detach()'''),
    Honest("derivative_with_stderr_debug", "derivative_of", "a debugging line on sys.stderr", '''\
def derivative_of(f, x):
    print(f"derivative_of: x of shape {tuple(x.shape)} on {x.device}", file=sys.stderr)
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    return fx.detach(), dfdx'''),
    Honest("derivative_with_ic", "derivative_of", "ic() and print() while working", '''\
def derivative_of(f, x):
    x_leaf = x.detach().requires_grad_()
    fx = f(x_leaf)
    (dfdx,) = torch.autograd.grad(fx.sum(), x_leaf)
    ic(x.shape, dfdx.dtype)
    print("max |f'| =", dfdx.abs().max().item())
    return fx.detach(), dfdx

ic(derivative_of(torch.sin, torch.zeros(2)))'''),
    Honest("plot_with_extras", "plot_poly_and_derivative", "extra lines, markers and a grid after the two lines", '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n, device=DEVICE)
    y, dydx = poly_and_derivative(x)
    xs = x.cpu().numpy()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, y.cpu().numpy(), label="y")
    ax.plot(xs, dydx.cpu().numpy(), label="dy/dx")
    for x_star in (2 - 2 / 3 ** 0.5, 2 + 2 / 3 ** 0.5):
        ax.axvline(x_star, color="0.5", ls="--")
        y_star = poly_and_derivative(torch.tensor([x_star]))[0]
        ax.plot([x_star], y_star.numpy(), "ko")
    ax.axhline(0, color="0.7")
    ax.grid(True)
    ax.set(xlabel="x", ylabel="value")
    ax.legend()
    return fig'''),
    Honest("poly_inline_backward_inputs", "poly_and_derivative", "its own leaf and backward(inputs=[...]), no helper",
           '''\
def poly_and_derivative(x):
    t = x.detach().clone().requires_grad_(True)
    y = t * (t - 2) * (t - 4)
    y.sum().backward(inputs=[t])
    return y.detach(), t.grad'''),
    Honest("plot_through_derivative_of", "plot_poly_and_derivative", "derivative_of called directly, float64 inside",
           '''\
def plot_poly_and_derivative(n=200):
    x = torch.linspace(0, 5, n, dtype=torch.float64)
    y, dydx = derivative_of(lambda t: t ** 3 - 6 * t ** 2 + 8 * t, x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), label="y")
    ax.plot(x.numpy(), dydx.numpy(), label="dy/dx")
    ax.legend()
    return fig'''),
    Honest("twins_through_data", "detached_twins", ".data instead of detach()", '''\
def detached_twins(t):
    alias = t.data               # same storage, no history
    snapshot = t.data.clone()    # its own memory
    return alias, snapshot'''),
    Honest("derivative_by_forward_mode_jvp", "derivative_of", "forward mode: torch.func.jvp with a tangent of ones", '''\
def derivative_of(f, x):
    # honest: forward-mode torch.func.jvp with a ones tangent (f is elementwise)
    x0 = x.detach()
    fx, dfdx = torch.func.jvp(f, (x0,), (torch.ones_like(x0),))
    return fx.detach(), dfdx.detach()'''),
    Honest("poly_float64_backward_gradient", "poly_and_derivative", "own float64 leaf, backward(gradient=ones)", '''\
def poly_and_derivative(x):
    # honest: own float64 leaf, backward(gradient=ones), cast back
    t = x.detach().to(torch.float64).clone().requires_grad_(True)
    y = t ** 3 - 6 * t ** 2 + 8 * t
    y.backward(gradient=torch.ones_like(y))
    return y.detach().to(x.dtype), t.grad.to(x.dtype)'''),
    Honest("leaves_breadth_first_deque", "leaves_reached", "breadth-first walk with a deque, compared by id", '''\
def leaves_reached(output, named):
    from collections import deque
    if output.grad_fn is None:
        return []
    found, seen, queue = [], set(), deque([output.grad_fn])
    while queue:
        node = queue.popleft()
        if node is None or node in seen:
            continue
        seen.add(node)
        v = getattr(node, "variable", None)
        if v is not None:
            found.append(v)
        queue.extend(n for n, _ in node.next_functions)
    ids = {id(v) for v in found}
    return sorted(k for k, t in named.items() if id(t) in ids)'''),
    Honest("poly_by_vmap_grad", "poly_and_derivative", "torch.func.vmap(torch.func.grad(p)) over the points", '''\
def poly_and_derivative(x):
    # honest: torch.func.grad (accepted), vmapped over the points
    p = lambda t: t ** 3 - 6 * t ** 2 + 8 * t
    x = x.detach()
    d = torch.func.vmap(torch.func.grad(p))(x.reshape(-1)).reshape(x.shape)
    return p(x), d'''),
    Honest("derivative_by_functional_vjp", "derivative_of", "torch.autograd.functional.vjp with v = ones", '''\
def derivative_of(f, x):
    # honest: torch.autograd.functional.vjp with v = ones (one reverse pass)
    x0 = x.detach()
    fx, d = torch.autograd.functional.vjp(f, x0, torch.ones_like(x0))
    return fx.detach(), d.detach()'''),
    Honest("poly_by_dual_numbers", "poly_and_derivative", "forward-mode AD with dual numbers (torch.autograd.forward_ad)", '''\
import torch.autograd.forward_ad as fwAD

def poly_and_derivative(x):
    # forward-mode AD with dual numbers: the tangent of y is dy/dx for a tangent of ones
    with fwAD.dual_level():
        t = fwAD.make_dual(x.detach(), torch.ones_like(x))
        y = t ** 3 - 6 * t ** 2 + 8 * t
        primal, tangent = fwAD.unpack_dual(y)
    return primal.detach(), tangent.detach()'''),
    Honest("derivative_by_jacobian_diagonal", "derivative_of", "torch.autograd.functional.jacobian, its diagonal", '''\
def derivative_of(f, x):
    # the whole Jacobian by torch.autograd.functional.jacobian, then its diagonal (f is elementwise)
    x0 = x.detach()
    flat = x0.reshape(-1)
    J = torch.autograd.functional.jacobian(lambda t: f(t.reshape(x0.shape)).reshape(-1), flat)
    return f(x0).detach(), J.diagonal().reshape(x0.shape).detach()'''),
]
