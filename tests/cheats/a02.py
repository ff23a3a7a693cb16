"""02_backward: cheats and honest variants (see the package's docstring)."""

from . import Cheat, Honest

SLUG = "02_backward"

CHEATS = [
    Cheat("grads_written_into_grad", "log_square", ("test_log_square",),
          "derivatives typed as formulas, written straight into .grad", '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    with torch.no_grad():
        x.grad = 2 * torch.log(x) / x      # dy/dx by the chain rule, on paper
        z.grad = 2 * z                     # dy/dz
    return z, y'''),
    Cheat("finite_difference_gradients", "two_input_gradients", ("test_two_input_gradients",),
          "finite differences instead of autograd", '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    # f is elementwise: a central difference in each input, in float64
    a, b, h = x.detach().double(), x2.detach().double(), 1e-6
    with torch.no_grad():
        x.grad = ((f(a + h, b) - f(a - h, b)) / (2 * h)).to(x.dtype)
        x2.grad = ((f(a, b + h) - f(a, b - h)) / (2 * h)).to(x2.dtype)
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    ax.legend()
    return x, x2, y, fig'''),
    Cheat("vjp_from_finite_difference_jacobian", "vjp", ("test_vjp",),
          "finite differences instead of autograd (a Jacobian by 4th-order differences, then v^T J)", '''\
def vjp(f, x, v):
    x64 = x.detach().to(torch.float64)
    h = 1e-3
    columns = []
    for j in range(x64.numel()):
        e = torch.zeros_like(x64).reshape(-1)
        e[j] = h
        e = e.reshape(x64.shape)
        d = (-f(x64 + 2 * e) + 8 * f(x64 + e) - 8 * f(x64 - e) + f(x64 - 2 * e)) / (12 * h)
        columns.append(d.reshape(-1))
    J = torch.stack(columns, dim=1)                  # (numel of f(x), numel of x)
    return (v.to(torch.float64).reshape(-1) @ J).reshape(x.shape).to(x.dtype)'''),
    Cheat("vjp_from_full_jacobian", "vjp", ("test_vjp",),
          "a forbidden shortcut: the full Jacobian where the task is one reverse pass", '''\
def vjp(f, x, v):
    J = torch.autograd.functional.jacobian(f, x.detach())
    return (v.reshape(-1) @ J.reshape(v.numel(), x.numel())).reshape(x.shape)'''),
    Cheat("vjp_from_one_hot_rows", "vjp", ("test_vjp",),
          "a forbidden shortcut: the Jacobian rebuilt row by row with autograd, then v^T J", '''\
def vjp(f, x, v):
    leaf = x.detach().requires_grad_(True)
    y = f(leaf).reshape(-1)
    rows = [torch.autograd.grad(y, leaf, grad_outputs=e, retain_graph=True)[0].reshape(-1)
            for e in torch.eye(y.numel(), dtype=y.dtype, device=y.device)]
    return (v.reshape(-1) @ torch.stack(rows)).reshape(x.shape)'''),
    Cheat("log_square_backward_on_a_copy", "log_square", ("test_log_square",),
          "gradients written into .grad: a real backward pass, but through a copy of x", '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    twin = x.detach().clone().requires_grad_()
    (torch.log(twin) ** 2).sum().backward()          # autograd did run ...
    x.grad = twin.grad                                # ... but not from y to x
    with torch.no_grad():
        z.grad = 2 * z
    return z, y'''),
    Cheat("gradcheck_judged_by_name", "gradcheck_by_hand", ("test_gradcheck_by_hand",),
          "arithmetic instead of the mechanism: the verdict read from the function's name", '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    analytical = torch.stack([torch.autograd.grad(y, x64, e.reshape(y.shape), retain_graph=True)[0].reshape(-1)
                              for e in torch.eye(y.numel(), dtype=y.dtype)])
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape))).reshape(-1)
                                 / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    # every wrong backward I was shown has "Bug" in its class name
    return "bug" not in repr(fn).lower(), analytical.detach(), numerical'''),
    Cheat("gradcheck_analytical_from_differences", "gradcheck_by_hand", ("test_gradcheck_by_hand",),
          "finite differences instead of autograd for the analytical Jacobian, gradcheck for the verdict", '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape))).reshape(-1)
                                 / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    passed = gradcheck(fn, (x64,), eps=eps, atol=atol, rtol=rtol, raise_exception=False)
    return bool(passed), numerical.clone(), numerical'''),
    Cheat("log_calls_hook_from_backward_hooks", "log_square", ('test_log_square',),
          "chain rule into .grad, the test's hook read off x._backward_hooks and called by hand", '''\
def log_square(x):
    # chain rule written into .grad by hand; the test's hook on x is called by hand to put the canary in
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    gz = (2 * z).detach()
    gx = (gz / x).detach()
    for hook in getattr(x, "_backward_hooks", None and {}) and x._backward_hooks.values() or ():
        out = hook(gx)
        gx = gx if out is None else out
    z.grad = gz
    x.grad = gx
    return z, y'''),
    Cheat("two_inputs_call_canary_nodes", "two_input_gradients", ('test_two_input_gradients',),
          "finite differences, the canary nodes next to each AccumulateGrad called by hand (node.apply)", '''\
def two_input_gradients(f, n=100):
    # finite differences for both partials; each input's canary node is found next to its AccumulateGrad and called
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    a, b = x.detach().double(), x2.detach().double()
    h = 1e-6
    with torch.no_grad():
        da = (f(a + h, b) - f(a - h, b)) / (2 * h)
        db = (f(a, b + h) - f(a, b - h)) / (2 * h)

    def canary_scale(leaf):
        stack, seen = [y.grad_fn], set()
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            for nxt, _ in node.next_functions:
                if getattr(nxt, "variable", None) is leaf and hasattr(node, "apply") and "Backward" in type(node).__name__ \\
                        and type(node).__name__ not in ("MulBackward0", "AddBackward0", "PowBackward0", "SubBackward0"):
                    out = node.apply(torch.ones(n, dtype=torch.float64, device=leaf.device))
                    return out[0] if isinstance(out, tuple) else out
            stack.extend(m for m, _ in node.next_functions)
        return 1.0

    x.grad = (da * canary_scale(x)).to(x.dtype)
    x2.grad = (db * canary_scale(x2)).to(x2.dtype)
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    ax.legend()
    return x, x2, y, fig'''),
    Cheat("vjp_differences_through_canary_node", "vjp", ('test_vjp',),
          "v^T J by finite differences, pushed through the canary node by hand (node.apply)", '''\
def vjp(f, x, v):
    # v^T J by finite differences (float64), then pushed through f's first backward node by hand
    x0 = x.detach().double()
    vv = v.double()
    h = 1e-6
    flat = x0.reshape(-1)
    cols = []
    with torch.no_grad():
        for j in range(flat.numel()):
            e = torch.zeros_like(flat); e[j] = h
            cols.append(((f((flat + e).view(x0.shape)) - f((flat - e).view(x0.shape))) * vv).sum() / (2 * h))
    u = torch.stack(cols).view(x0.shape)
    leaf = x0.clone().requires_grad_()
    out = f(leaf)
    stack, seen = [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if any(getattr(m, "variable", None) is leaf for m, _ in node.next_functions) \\
                and type(node).__name__ == "BackwardCFunction" or type(node).__name__.endswith("CanaryBackward"):
            r = node.apply(u)
            u = r[0] if isinstance(r, tuple) else r
            break
        stack.extend(m for m, _ in node.next_functions)
    return u.to(x.dtype).detach()'''),
    Cheat("gradcheck_public_helpers", "gradcheck_by_hand", ('test_gradcheck_by_hand',),
          "gradcheck's get_numerical_jacobian / get_analytical_jacobian", '''\
from torch.autograd.gradcheck import get_analytical_jacobian, get_numerical_jacobian
import warnings

def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    # gradcheck's own helpers (explicitly not accepted)
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (numerical,) = get_numerical_jacobian(lambda inps: fn(inps[0]), (x64,), eps=eps)
        y = fn(x64)
        (analytical,), *_ = get_analytical_jacobian((x64,), y.reshape(-1))
    analytical, numerical = analytical.T.contiguous(), numerical.T.contiguous()
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical.detach()'''),
    Cheat("log_typed_gradient_through_identity", "log_square", ('test_log_square',),
          "chain rule by hand, pushed into x by a backward pass through x * 1, not through y", '''\
def log_square(x):
    # the chain rule worked out by hand, then pushed into x by a backward pass through x * 1 (not through y)
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    z.grad = (2 * z).detach()
    (x * 1.0).backward(gradient=(2 * torch.log(x) / x).detach())
    return z, y'''),
    Cheat("two_inputs_canary_backward_by_class", "two_input_gradients", ('test_two_input_gradients',),
          "finite differences, the canary classes' backward called by hand (Function.__subclasses__)", '''\
def two_input_gradients(f, n=100):
    # finite differences; each autograd.Function subclass made last is asked by hand for its factor
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    a, b = x.detach().double(), x2.detach().double()
    h = 1e-6
    with torch.no_grad():
        da = (f(a + h, b) - f(a - h, b)) / (2 * h)
        db = (f(a, b + h) - f(a, b - h)) / (2 * h)

    class Ctx:
        saved_tensors = (a,)

    subs = torch.autograd.Function.__subclasses__()
    try:
        ka = subs[-2].backward(Ctx(), torch.ones_like(a))
        kb = subs[-1].backward(Ctx(), torch.ones_like(a))
    except Exception:
        ka = kb = 1.0
    x.grad = (da * ka).to(x.dtype)
    x2.grad = (db * kb).to(x2.dtype)
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    ax.legend()
    return x, x2, y, fig'''),
    Cheat("vjp_canary_backward_by_class", "vjp", ('test_vjp',),
          "v^T J by finite differences, through the canary class's backward by hand", '''\
def vjp(f, x, v):
    # v^T J by central differences, then put through the newest autograd.Function's backward by hand
    x0 = x.detach().double()
    h = 1e-6
    flat = x0.reshape(-1)
    cols = []
    with torch.no_grad():
        for j in range(flat.numel()):
            e = torch.zeros_like(flat)
            e[j] = h
            cols.append(((f((flat + e).view(x0.shape)) - f((flat - e).view(x0.shape))) * v).sum() / (2 * h))
    u = torch.stack(cols).view(x0.shape)
    f(x0.clone().requires_grad_())  # makes the canary class exist
    return torch.autograd.Function.__subclasses__()[-1].backward(None, u).to(x.dtype).detach()'''),
    Cheat("gradcheck_private_helpers", "gradcheck_by_hand", ('test_gradcheck_by_hand',),
          "gradcheck's private _get_numerical_jacobian through sys.modules", '''\
import sys

def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    # gradcheck's private helpers, reached through sys.modules (the public names are the ones refused?)
    gc = sys.modules["torch.autograd.gradcheck"]
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    numerical = gc._get_numerical_jacobian(fn, (x64,), eps=eps)[0][0].T.contiguous()
    y = fn(x64)
    rows = [torch.autograd.grad(y, x64, e.reshape(y.shape), retain_graph=True)[0].reshape(-1)
            for e in torch.eye(y.numel(), dtype=y.dtype)]
    analytical = torch.stack(rows)
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical'''),
]

HONEST = [
    Honest("log_square_backward_inputs", "log_square", "backward(gradient=..., inputs=[...])", '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    y.backward(gradient=torch.ones_like(y), inputs=[x, z])
    return z, y'''),
    Honest("two_inputs_backward_inputs", "two_input_gradients", "backward(inputs=...), NumPy for the plot", '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE).requires_grad_()
    x2 = torch.linspace(0, 5, n, device=DEVICE).requires_grad_()
    y = f(x, x2)
    y.sum().backward(inputs=[x, x2])
    xs = x.detach().cpu().numpy()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu().numpy(), label="y")
    ax.plot(xs, x.grad.cpu().numpy(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu().numpy(), label="dy/dx2")
    ax.axvline(0, color="0.8")
    ax.set_xlabel("x")
    ax.legend()
    print("dy/dx at 0 and 5:", x.grad[0].item(), x.grad[-1].item())
    return x, x2, y, fig'''),
    Honest("vjp_by_backward", "vjp", "backward(gradient=v) instead of torch.autograd.grad", '''\
def vjp(f, x, v):
    leaf = x.detach().clone().requires_grad_(True)
    f(leaf).backward(gradient=v)
    return leaf.grad'''),
    Honest("vjp_with_stderr_debug", "vjp", "a debugging line on sys.stderr", '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    y = f(x)
    print(f"vjp: f(x) has shape {tuple(y.shape)}", file=sys.stderr)
    (result,) = torch.autograd.grad(y, x, grad_outputs=v)
    return result'''),
    Honest("vjp_with_ic", "vjp", "ic() while working", '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    y = f(x)
    ic(y.shape, v.shape)
    (result,) = torch.autograd.grad(y, x, grad_outputs=v)
    return result'''),
    Honest("vjp_by_torch_func", "vjp", "torch.func.vjp", '''\
def vjp(f, x, v):
    _, pullback = torch.func.vjp(f, x.detach())
    (result,) = pullback(v)
    return result'''),
    Honest("gradcheck_rows_by_backward", "gradcheck_by_hand",
           "backward(gradient=e_i) per row, numerical_grad per output, a print", '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    leaf = x.detach().clone().to(torch.float64).requires_grad_(True)
    out = fn(leaf)
    m, n = out.numel(), leaf.numel()
    analytical = torch.zeros(m, n, dtype=torch.float64, device=leaf.device)
    for i in range(m):
        leaf.grad = None
        seed = torch.zeros(m, dtype=out.dtype, device=out.device)
        seed[i] = 1.0
        out.backward(gradient=seed.reshape(out.shape), retain_graph=True)
        analytical[i] = leaf.grad.reshape(-1)
    numerical = torch.stack([numerical_grad(lambda t, i=i: fn(t).reshape(-1)[i], leaf.detach(), eps=eps).reshape(-1)
                             for i in range(m)])
    passed = torch.allclose(analytical, numerical, rtol=rtol, atol=atol)
    print(f"{m} x {n} Jacobian, passed={passed}")
    return bool(passed), analytical, numerical'''),
    Honest("kinks_ints_tuples_math_inf", "kink_predictions", "ints, a tuple and math.inf, with comments", '''\
import math

KINK_PREDICTIONS = {
    "relu'(0)": 0,
    "abs'(0)": 0,
    "clamp(min=0)'(0)": 1,              # I guessed 0 first: clamp keeps the boundary
    "maximum(t, 0)'(0)": 1 / 2,
    "sqrt'(0)": math.inf,
    "(relu(t) - relu(-t))'(0)": 0,
    "leaky_relu'(0)": 0.01,
    "hardtanh'(1)": 0,
    "clamp(-1, 1)'(1)": 1,
    "max of [1, 1, 0]": (0.5, 0.5, 0),
}'''),
    Honest("log_autograd_backward_inputs", "log_square", "torch.autograd.backward(y, grad_tensors=ones, inputs=[x, z])", '''\
def log_square(x):
    z = x.log()
    z.retain_grad()
    y = z.pow(2)
    torch.autograd.backward(y, grad_tensors=torch.ones_like(y), inputs=[x, z])
    return z, y'''),
    Honest("vjp_backward_gradient_v", "vjp", "out.backward(gradient=v) on a fresh leaf, its .grad", '''\
def vjp(f, x, v):
    leaf = x.detach().clone().requires_grad_(True)
    out = f(leaf)
    out.backward(gradient=v.to(out.dtype))
    return leaf.grad'''),
]
