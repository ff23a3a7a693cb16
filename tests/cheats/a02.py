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
]
