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
]
