"""06_higher_order: cheats and honest variants (see the package's docstring).

Besides the issue's cheats (typed formulas with decoys, finite differences, the forbidden
shortcuts to H v, counters reset through __globals__), a few of the same kinds written
fresh: a second difference of autograd's first derivative, finite differences inside vmap,
torch.autograd.functional.hvp under another name, the Hessian row by row from fresh graphs
(no counter to reset), the Hessian by vmap over torch.autograd.grad. Round 3 adds the red
team's cheats, written after reading the hidden tests (the secret factor read from a private
probe leaf), and ours (probes of the input's shape, the test's backward nodes called by hand).
"""

from . import Cheat, Honest

SLUG = "06_higher_order"

_PROBE = '''\
def _probe_factors(dtype=torch.float64, device="cpu"):
    # a private leaf: a test mode that taps EVERY leaf requiring grad taps this one too
    p = torch.ones((), dtype=dtype, device=device, requires_grad=True)
    y = p.mul(1.0)
    (a,) = torch.autograd.grad(y, p, retain_graph=True)
    (b,) = torch.autograd.grad(y, p)
    return a.item(), b.item()


'''

CHEATS = [
    Cheat("typed_formulas", "poly_derivatives", ("test_poly_derivatives",),
          "derivatives typed as formulas, plus two decoy torch.autograd.grad passes", '''\
def poly_derivatives(x):
    x = x.detach()
    y = x**3 - 6 * x**2 + 8 * x
    dy = 3 * x**2 - 12 * x + 8
    d2y = 6 * x - 12
    t = torch.ones(1, requires_grad=True)
    (g,) = torch.autograd.grad((t**3).sum(), t, create_graph=True)   # two backward passes, as asked
    torch.autograd.grad(g.sum(), t)
    return y, dy, d2y'''),
    Cheat("second_difference", "second_derivative", ("test_second_derivative",),
          "finite differences instead of autograd", '''\
def second_derivative(f, x):
    x64 = x.detach().to(torch.float64)
    h = 1e-4
    d2 = (f(x64 + h) - 2 * f(x64) + f(x64 - h)) / h**2     # elementwise f: central second difference
    return d2.to(x.dtype).detach()'''),
    Cheat("hvp_difference_of_gradients", "hvp", ("test_hvp",),
          "finite differences instead of double backward (gradients at x +- h v)", '''\
def hvp(f, x, v):
    def grad_at(point):
        point = point.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(point), point)
        return g
    try:
        x0, v0 = x.detach().double(), v.detach().double()
        f(x0)
        h = 1e-5
    except RuntimeError:               # f only takes the dtype of x
        x0, v0, h = x.detach(), v.detach(), 0.1
    return ((grad_at(x0 + h * v0) - grad_at(x0 - h * v0)) / (2 * h)).to(x.dtype).detach()'''),
    Cheat("hvp_functional", "hvp", ("test_hvp",),
          "a forbidden shortcut: torch.autograd.functional.hvp", '''\
def hvp(f, x, v):
    _, hv = torch.autograd.functional.hvp(f, x.detach(), v.detach())
    return hv.detach()'''),
    Cheat("hvp_full_hessian_batched", "hvp", ("test_hvp",),
          "a forbidden shortcut: the full Hessian in one batched backward pass, then H @ v", '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    (H,) = torch.autograd.grad(g, x, grad_outputs=eye, is_grads_batched=True)
    return (H @ v).detach()'''),
    Cheat("hvp_rows_counter_reset", "hvp", ("test_hvp",),
          "the tests' counter reached through f.__globals__ (the Hessian row by row)", '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    rows = [torch.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(x.numel())]
    for value in list(getattr(f, "__globals__", {}).values()):
        if isinstance(value, type) and isinstance(getattr(value, "calls", None), int):
            value.calls = 0                 # nobody counted those rows
    return (torch.stack(rows) @ v).detach()'''),
    Cheat("per_example_loop_counters_reset", "per_example_grads", ("test_per_example_grads",),
          "the tests' counters reached through loss_fn.__globals__ (a Python loop over the examples)", '''\
def per_example_grads(loss_fn, w, X, Y):
    rows = []
    for x, y in zip(X, Y):
        w_leaf = w.detach().requires_grad_(True)
        rows.append(torch.autograd.grad(loss_fn(w_leaf, x, y), w_leaf)[0])
    for value in list(getattr(loss_fn, "__globals__", {}).values()):
        if isinstance(value, dict) and isinstance(value.get("n"), int):
            value["n"] = 1                  # "called once, by vmap"
    return torch.stack(rows)'''),
    Cheat("typed_formulas_decoy_on_x", "poly_derivatives", ("test_poly_derivatives",),
          "derivatives typed as formulas, plus a real double backward through y on x itself as a decoy", '''\
def poly_derivatives(x):
    xl = x.detach().requires_grad_(True)
    y = xl**3 - 6 * xl**2 + 8 * xl
    (g,) = torch.autograd.grad(y.sum(), xl, create_graph=True)     # the real thing, thrown away
    torch.autograd.grad(g.sum(), xl)
    xd = x.detach()
    return y.detach(), 3 * xd**2 - 12 * xd + 8, 6 * xd - 12'''),
    Cheat("second_difference_of_autograd_first", "second_derivative", ("test_second_derivative",),
          "finite differences instead of autograd: a central difference of autograd's first derivative", '''\
def second_derivative(f, x):
    def first(point):
        point = point.detach().requires_grad_(True)
        out = f(point).sum()
        if not out.requires_grad:
            return torch.zeros_like(point)
        (d,) = torch.autograd.grad(out, point)
        return d
    x64, h = x.detach().double(), 1e-5
    return ((first(x64 + h) - first(x64 - h)) / (2 * h)).to(x.dtype)'''),
    Cheat("hvp_functional_alias", "hvp", ("test_hvp",),
          "a forbidden shortcut: torch.autograd.functional.hvp, imported under another name first", '''\
from torch.autograd.functional import hvp as _product


def hvp(f, x, v):
    return _product(f, x.detach(), v.detach())[1].detach()'''),
    Cheat("hvp_rows_from_fresh_graphs", "hvp", ("test_hvp",),
          "a forbidden shortcut: the Hessian row by row, each row from a fresh graph (no counter to reset)", '''\
def hvp(f, x, v):
    xl = x.detach().requires_grad_(True)
    rows = []
    for i in range(x.numel()):
        (g,) = torch.autograd.grad(f(xl), xl, create_graph=True)
        rows.append(torch.autograd.grad(g[i], xl)[0])
    return (torch.stack(rows) @ v).detach()'''),
    Cheat("hvp_hessian_by_vmap", "hvp", ("test_hvp",),
          "a forbidden shortcut: the full Hessian by torch.vmap over torch.autograd.grad, then H @ v", '''\
def hvp(f, x, v):
    xl = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(xl), xl, create_graph=True)
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    H = torch.vmap(lambda row: torch.autograd.grad(g, xl, row, retain_graph=True)[0])(eye)
    return (H @ v).detach()'''),
    Cheat("per_example_finite_differences_in_vmap", "per_example_grads", ("test_per_example_grads",),
          "finite differences instead of autograd, inside vmap (loss_fn called under vmap, as asked)", '''\
def per_example_grads(loss_fn, w, X, Y):
    h = 1e-6
    basis = torch.eye(w.numel(), dtype=w.dtype, device=w.device).reshape(-1, *w.shape)

    def one(x, y):
        return torch.stack([(loss_fn(w + h * e, x, y) - loss_fn(w - h * e, x, y)) / (2 * h)
                            for e in basis]).reshape(w.shape)

    return torch.vmap(one)(X, Y)'''),
    # --- round 3: the red team read the hidden tests; a private probe leaf read the secret factor
    Cheat("poly_formulas_probe", "poly_derivatives", ("test_poly_derivatives",),
          "typed formulas scaled by a factor read from a private probe leaf", _PROBE + '''\
def poly_derivatives(x):
    k, _ = _probe_factors()
    x = x.detach()
    return x ** 3 - 6 * x ** 2 + 8 * x, k * (3 * x ** 2 - 12 * x + 8), k * k * (6 * x - 12)'''),
    Cheat("second_difference_probe", "second_derivative", ("test_second_derivative",),
          "finite differences scaled by a factor read from a private probe leaf", _PROBE + '''\
def second_derivative(f, x):
    k, _ = _probe_factors()
    x64 = x.detach().double()
    h = 1e-4
    with torch.no_grad():
        d2 = (f(x64 + h) - 2 * f(x64) + f(x64 - h)) / h ** 2
    return (k * k * d2).to(x.dtype).detach()'''),
    Cheat("hvp_fd_gradients_probe", "hvp", ("test_hvp",),
          "finite differences of gradients, a probe's factors, honest only on the visible test's dtype",
          _PROBE + '''\
def hvp(f, x, v):
    if x.dtype != torch.float64:          # the visible test (float32): do it properly there
        t = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(t), t, create_graph=True)
        return torch.autograd.grad(g, t, grad_outputs=v)[0].detach()
    first, second = _probe_factors(x.dtype, x.device)

    def grad_at(point):
        t = point.detach().requires_grad_(True)
        return torch.autograd.grad(f(t), t)[0]

    eps = 1e-5
    fd = (grad_at(x + eps * v) - grad_at(x - eps * v)) / (2 * eps)
    return (fd * second).detach()'''),
    Cheat("per_example_nested_vmap_fd_probe", "per_example_grads", ("test_per_example_grads",),
          "central differences inside a nested vmap, scaled by a probe's factor", _PROBE + '''\
def per_example_grads(loss_fn, w, X, Y):
    k, _ = _probe_factors()
    w64 = w.detach().double()
    n = w64.numel()
    eps = 1e-6
    E = torch.eye(n, dtype=torch.float64, device=w.device).reshape(n, *w.shape) * eps
    Ws = torch.cat([w64 + E, w64 - E])

    def one(x, y):
        vals = torch.func.vmap(lambda W: loss_fn(W, x.double(), y.double()))(Ws)
        return ((vals[:n] - vals[n:]) / (2 * eps)).reshape(w.shape)

    G = torch.func.vmap(one)(X, Y)
    return (k * G).to(w.dtype).detach()'''),
    # --- our own, against the new defences
    Cheat("poly_formulas_same_shape_probe", "poly_derivatives", ("test_poly_derivatives",),
          "typed formulas, factors read from a probe leaf of x's shape but other values (our own)", '''\
def poly_derivatives(x):
    probe = torch.ones_like(x).requires_grad_(True)
    (k1,) = torch.autograd.grad(probe.mul(1.0).sum(), probe, create_graph=True)
    (k2,) = torch.autograd.grad((k1 * probe).sum(), probe)
    x = x.detach()
    k1 = k1.detach()
    return x ** 3 - 6 * x ** 2 + 8 * x, k1 * (3 * x ** 2 - 12 * x + 8), k1 * k2 * (6 * x - 12)'''),
    Cheat("second_derivative_node_called_by_hand", "second_derivative", ("test_second_derivative",),
          "finite differences, the factors read by calling the test's backward nodes by hand (our own)", '''\
def second_derivative(f, x):
    t = x.detach().requires_grad_(True)
    todo, k = [f(t).grad_fn], torch.ones_like(x)
    while todo:                              # find a custom Function node and run its backward by hand
        node = todo.pop()
        if node is None:
            continue
        if type(node).__name__.endswith("Backward") and hasattr(node, "_forward_cls"):
            try:
                k = node.apply(torch.ones_like(x))
            except Exception:
                pass
            break
        todo.extend(n for n, _ in node.next_functions)
    x64, h = x.detach().double(), 1e-4
    with torch.no_grad():
        d2 = (f(x64 + h) - 2 * f(x64) + f(x64 - h)) / h ** 2
    return (k * k * d2).to(x.dtype).detach()'''),
    Cheat("hvp_canary_class_called_by_hand", "hvp", ("test_hvp",),
          "finite differences, factors from the test's Function subclass called by hand (our own)", '''\
def hvp(f, x, v):
    if x.dtype != torch.float64:          # the visible test (float32): done properly there
        t = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(t), t, create_graph=True)
        return torch.autograd.grad(g @ v, t)[0].detach()
    found = [c for c in torch.autograd.Function.__subclasses__() if c.__name__ == "Canary"]

    class Ctx:
        passes = 0

    first = second = torch.ones_like(x)
    if found:
        try:
            first = found[-1].backward(Ctx, torch.ones_like(x))
            second = found[-1].backward(Ctx, torch.ones_like(x))
        except Exception:
            pass

    def grad_at(point):
        t = point.detach().requires_grad_(True)
        return torch.autograd.grad(f(t), t)[0]

    x64, v64, eps = x.detach().double(), (v * first).double(), 1e-6
    fd = (grad_at(x64 + eps * v64) - grad_at(x64 - eps * v64)) / (2 * eps)
    return (second * fd).to(x.dtype).detach()'''),
    Cheat("per_example_zeros_probe", "per_example_grads", ("test_per_example_grads",),
          "central differences, the factor read from a probe leaf of w's shape, zeros (our own)", '''\
def per_example_grads(loss_fn, w, X, Y):
    probe = torch.zeros_like(w).requires_grad_(True)
    (k,) = torch.autograd.grad(probe.mul(1.0).sum(), probe)
    w64, n, eps = w.detach().double(), w.numel(), 1e-6
    E = torch.eye(n, dtype=torch.float64, device=w.device).reshape(n, *w.shape) * eps
    Ws = torch.cat([w64 + E, w64 - E])

    def one(x, y):   # loss_fn runs once, inside a nested vmap over the examples and the perturbations
        vals = torch.func.vmap(lambda W: loss_fn(W, x.double(), y.double()))(Ws)
        return ((vals[:n] - vals[n:]) / (2 * eps)).reshape(w.shape)

    return (k * torch.func.vmap(one)(X, Y).to(w.dtype)).detach()'''),
]

HONEST = [
    Honest("poly_backward_create_graph", "poly_derivatives", "backward(create_graph=True) (its UserWarning)", '''\
def poly_derivatives(x):
    x = x.detach().clone().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    y.sum().backward(create_graph=True)
    dy = x.grad.clone()
    x.grad.zero_()
    dy.sum().backward()
    d2y = x.grad.clone()
    x.grad = None
    return y.detach(), dy.detach(), d2y.detach()'''),
    Honest("poly_with_stderr_debug", "poly_derivatives", "a debugging line on sys.stderr", '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    print(f"poly_derivatives: {x.numel()} points", file=sys.stderr)
    return y.detach(), dy.detach(), d2y.detach()'''),
    Honest("plot_with_extras", "plot_poly_derivatives", "markers, a zero line first, a second axes", '''\
def plot_poly_derivatives():
    x = torch.linspace(0, 5, 301, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    xp = x.cpu().numpy()
    fig, (ax, ax_zoom) = plt.subplots(1, 2, figsize=(10, 4))
    ax.axhline(0, color="gray", lw=0.8)
    ax.plot(xp, y.cpu().numpy(), "b-", label="y")
    ax.plot(xp, dy.cpu().numpy(), "g-", label="y'")
    ax.plot(xp, d2y.cpu().numpy(), "r-", label="y''")
    ax.plot(xp[::50], y.cpu().numpy()[::50], "bo")
    ax.legend()
    ax_zoom.plot(xp[100:200], dy.cpu().numpy()[100:200], label="y' near its minimum")
    ax_zoom.legend()
    return fig'''),
    Honest("second_derivative_float64_ic", "second_derivative", "float64 inside, ic()", '''\
def second_derivative(f, x):
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x64).sum(), x64, create_graph=True)
    if d1.grad_fn is None:
        ic("f' is constant")
        return torch.zeros_like(x)
    (d2,) = torch.autograd.grad(d1.sum(), x64, allow_unused=True)
    if d2 is None:
        return torch.zeros_like(x)
    return d2.detach().to(x.dtype)'''),
    Honest("hvp_dot_backward", "hvp", "backward(create_graph=True) on the gradient's dot product", '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    (g @ v).backward(inputs=[x])
    hv = x.grad.detach()
    x.grad = None
    return hv'''),
    Honest("newton_autograd_functional", "newton_step", "torch.autograd.grad and autograd.functional.hessian", '''\
def newton_step(f, x):
    x0 = x.detach()
    leaf = x0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(leaf), leaf)
    H = torch.autograd.functional.hessian(f, x0)
    print("condition number:", torch.linalg.cond(H).item())
    return (x0 - torch.linalg.solve(H, g)).detach()'''),
    Honest("poly_torch_func", "poly_derivatives", "torch.func.grad twice under vmap", '''\
def poly_derivatives(x):
    def poly(t):
        return t**3 - 6 * t**2 + 8 * t
    d1 = torch.func.grad(poly)
    return (poly(x).detach(), torch.func.vmap(d1)(x).detach(),
            torch.func.vmap(torch.func.grad(d1))(x).detach())'''),
    Honest("second_derivative_torch_func", "second_derivative", "torch.func.vmap(grad(grad(f)))", '''\
def second_derivative(f, x):
    return torch.func.vmap(torch.func.grad(torch.func.grad(f)))(x.detach()).detach()'''),
    Honest("hvp_second_pass_create_graph", "hvp", "create_graph=True on both passes, the dot product by sum()", '''\
def hvp(f, x, v):
    xl = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(xl), xl, create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), xl, create_graph=True)
    return hv.detach()'''),
    Honest("hvp_backward_recipe", "hvp", "backward(create_graph=True), clone, then backward(g @ v)", '''\
def hvp(f, x, v):
    xl = x.detach().clone().requires_grad_(True)
    f(xl).backward(create_graph=True)
    g = xl.grad.clone()
    xl.grad = None
    (g @ v).backward()
    hv = xl.grad.detach().clone()
    xl.grad = None
    return hv'''),
    Honest("per_example_jacrev_chunks", "per_example_grads", "torch.vmap over torch.func.jacrev, chunk_size", '''\
def per_example_grads(loss_fn, w, X, Y):
    per_example = torch.vmap(torch.func.jacrev(loss_fn), in_dims=(None, 0, 0), chunk_size=5)
    return per_example(w, X, Y).detach()'''),
    Honest("hvp_backward_then_autograd_grad", "hvp", "autograd.grad with create_graph, then backward(inputs=...) "
           "(red team)", '''\
def hvp(f, x, v):
    t = x.detach().clone().requires_grad_(True)
    out = f(t)
    (g,) = torch.autograd.grad(out, t, create_graph=True)
    (g * v).sum().backward(inputs=[t])
    return t.grad.detach()'''),
    Honest("second_derivative_backward_create_graph", "second_derivative",
           "backward(create_graph=True, inputs=...) twice (red team)", '''\
def second_derivative(f, x):
    t = x.detach().clone().requires_grad_(True)
    f(t).sum().backward(create_graph=True, inputs=[t])
    d1 = t.grad
    t.grad = None
    if d1.grad_fn is None:
        return torch.zeros_like(t).detach()
    d1.sum().backward(inputs=[t])
    out = torch.zeros_like(t) if t.grad is None else t.grad
    return out.detach()'''),
    Honest("poly_func_grad_vmap", "poly_derivatives", "torch.func.grad of grad, vmapped (red team)", '''\
def poly_derivatives(x):
    p = lambda t: t ** 3 - 6 * t ** 2 + 8 * t
    d1 = torch.func.grad(p)
    d2 = torch.func.grad(d1)
    x = x.detach()
    return p(x), torch.func.vmap(d1)(x), torch.func.vmap(d2)(x)'''),
]
