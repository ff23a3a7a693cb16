"""06_higher_order: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

SLUG = "06_higher_order"

_POLY, _POLY_TEST = "poly_derivatives", "test_poly_derivatives"
_PLOT, _PLOT_TEST = "plot_poly_derivatives", "test_plot_poly_derivatives"
_SECOND, _SECOND_TEST = "second_derivative", "test_second_derivative"
_HVP, _HVP_TEST = "hvp", "test_hvp"
_NEWTON, _NEWTON_TEST = "newton_step", "test_newton_step"
_PER, _PER_TEST = "per_example_grads", "test_per_example_grads"

MISTAKES = [
    # --- Exercise 1: y, y', y''
    Mistake("poly_missing_create_graph", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y.detach(), dy.detach(), d2y.detach()''', ("create_graph=True",), "no create_graph on the first pass"),
    Mistake("poly_detach_before_second", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    dy = dy.detach()
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y.detach(), dy, d2y.detach()''', (".detach()", "no graph"), "detaches dy before differentiating it"),
    Mistake("poly_recipe_without_clone", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().clone().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    y.sum().backward(create_graph=True)
    dy = x.grad
    x.grad.zero_()
    dy.sum().backward()
    return y.detach(), dy.detach(), x.grad.detach()''', ("clone()", "zero_() wiped"), "no clone before zero_()"),
    Mistake("poly_recipe_without_zero", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().clone().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    y.sum().backward(create_graph=True)
    dy = x.grad.clone()
    dy.sum().backward()
    return y.detach(), dy.detach(), x.grad.detach()''', ("y' + y''", "accumulates"), "does not zero x.grad in between"),
    Mistake("poly_not_detached", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y, dy, d2y''', ("detached",), "returns tensors that still carry a graph"),
    Mistake("poly_on_callers_tensor", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x.requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y.detach(), dy.detach(), d2y.detach()''', ("caller's tensor", "x.detach()"),
            "switches on requires_grad on the caller's x"),
    Mistake("poly_differentiates_once", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), dy.detach(), dy.detach()''', ("d2y equals y'",), "returns y' for y''"),
    Mistake("poly_mean_not_sum", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.mean(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y.detach(), dy.detach(), d2y.detach()''', ("0.25 times", "y.mean()", "y.sum()"),
            "differentiates y.mean() (red team)"),
    Mistake("poly_leaf_without_requires_grad", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach()
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y.detach(), dy.detach(), d2y.detach()''', ("first differentiation", "without .requires_grad_(true)"),
            "x.detach() without requires_grad_"),
    Mistake("poly_recipe_without_clone_or_zero", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().clone().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    y.sum().backward(create_graph=True)
    dy = x.grad
    dy.sum().backward()
    return y.detach(), dy.detach(), x.grad.detach()''', ("dy equals y' + y''", "x.grad.clone()"),
            "keeps x.grad itself as dy, and does not zero it"),
    Mistake("poly_second_pass_other_leaf", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    leaf = x.detach().requires_grad_(True)
    y = leaf**3 - 6 * leaf**2 + 8 * leaf
    (dy,) = torch.autograd.grad(y.sum(), leaf, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x.detach().requires_grad_(True))
    return y.detach(), dy.detach(), d2y.detach()''', ("was not computed from", "same x"),
            "the second pass differentiates with respect to a new leaf"),
    # --- Exercise 2: the figure
    Mistake("plot_too_few_points", _PLOT, _PLOT_TEST, '''\
def plot_poly_derivatives():
    x = torch.linspace(0, 5, 50, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    fig, ax = plt.subplots()
    for values, label in [(y, "y"), (dy, "y'"), (d2y, "y''")]:
        ax.plot(x.cpu(), values.cpu(), label=label)
    ax.legend()
    return fig''', (">= 100 points",), "a grid of 50 points"),
    Mistake("plot_wrong_interval", _PLOT, _PLOT_TEST, '''\
def plot_poly_derivatives():
    x = torch.linspace(-1, 4, 200, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    fig, ax = plt.subplots()
    for values, label in [(y, "y"), (dy, "y'"), (d2y, "y''")]:
        ax.plot(x.cpu(), values.cpu(), label=label)
    ax.legend()
    return fig''', ("covering [0, 5]",), "plots over [-1, 4]"),
    Mistake("plot_forgets_second_derivative", _PLOT, _PLOT_TEST, '''\
def plot_poly_derivatives():
    x = torch.linspace(0, 5, 200, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    fig, ax = plt.subplots()
    for values, label in [(y, "y"), (dy, "y'"), (dy, "y''")]:
        ax.plot(x.cpu(), values.cpu(), label=label)
    ax.legend()
    return fig''', ("values of y''",), "plots y' twice, y'' never"),
    Mistake("plot_grid_with_arange", _PLOT, _PLOT_TEST, '''\
def plot_poly_derivatives():
    x = torch.arange(0, 5, 0.025, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    fig, ax = plt.subplots()
    for values, label in [(y, "y"), (dy, "y'"), (d2y, "y''")]:
        ax.plot(x.cpu(), values.cpu(), label=label)
    ax.legend()
    return fig''', ("one step before 5", "arange", "linspace"), "an arange grid, without 5 (red team)"),
    Mistake("plot_against_index", _PLOT, _PLOT_TEST, '''\
def plot_poly_derivatives():
    x = torch.linspace(0, 5, 200, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    fig, ax = plt.subplots()
    for values, label in [(y, "y"), (dy, "y'"), (d2y, "y''")]:
        ax.plot(values.cpu(), label=label)
    ax.legend()
    return fig''', ("against its index", "ax.plot(x, values)"), "plots the values without x"),
    # --- Exercise 3: second_derivative
    Mistake("second_missing_create_graph", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d2.detach()''', ("create_graph=True",), "no create_graph on the first pass"),
    Mistake("second_missing_create_graph_guarded", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x)
    if not d1.requires_grad:
        return torch.zeros_like(x)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d2.detach()''', ("zeros", "create_graph=True"), "no create_graph, hidden by the linear-case guard"),
    Mistake("second_no_linear_case", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d2.detach()''', ("linear", "return zeros"), "does not handle a linear f"),
    Mistake("second_without_sum", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1, x)
    return d2.detach()''', ("sum trick",), "differentiates the vector f(x) without the sum trick"),
    Mistake("second_returns_first", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    return d1.detach()''', ("first derivative",), "returns f'"),
    Mistake("second_not_detached", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    if not d1.requires_grad:
        return torch.zeros_like(x)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    return d2''', ("detached",), "returns f'' with its graph"),
    Mistake("second_uses_callers_x", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    xr = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), xr, create_graph=True)
    if not d1.requires_grad:
        return torch.zeros_like(x).detach()
    (d2,) = torch.autograd.grad(d1.sum(), xr, allow_unused=True, materialize_grads=True)
    return d2.detach()''', ("f was called on a tensor that does not require grad", "leaf"),
            "makes a leaf, then calls f on the caller's x (red team)"),
    Mistake("second_detaches_first", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    d1 = d1.detach()
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d2.detach()''', ("had create_graph=true", ".detach()"), "detaches f' before the second pass"),
    Mistake("second_mean_trick", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).mean(), x, create_graph=True)
    if not d1.requires_grad:
        return torch.zeros_like(x)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d2.detach()''', ("0.25 times", "mean()", "f(x).sum()"), "differentiates f(x).mean()"),
    Mistake("second_torch_func_without_vmap", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    first = torch.func.grad(lambda t: f(t).sum())
    return torch.func.grad(first)(x.detach()).detach()''', ("only functions that return a scalar", "vmap"),
            "torch.func.grad of a vector-valued first derivative"),
    # --- Exercise 4: hvp
    Mistake("hvp_missing_create_graph", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x)
    (hv,) = torch.autograd.grad(g, x, grad_outputs=v)
    return hv.detach()''', ("create_graph=True",), "no create_graph on the gradient"),
    Mistake("hvp_gradient_summed", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    (hv,) = torch.autograd.grad(g.sum(), x)
    return hv.detach()''', ("H @ ones", "grad_outputs=v"), "differentiates g.sum(): H times ones"),
    Mistake("hvp_returns_gradient", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    return g.detach()''', ("gradient of f, not h v",), "returns the gradient"),
    Mistake("hvp_v_in_first_pass", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, grad_outputs=v, create_graph=True)
    (hv,) = torch.autograd.grad(g.sum(), x)
    return hv.detach()''', ("grad_outputs", "second torch.autograd.grad"), "passes v to the first pass"),
    Mistake("hvp_detached_gradient", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    (hv,) = torch.autograd.grad(g.detach() @ v, x)
    return hv.detach()''', (".detach() g",), "detaches g before the second pass"),
    Mistake("hvp_gradient_times_v", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x)
    return (g * v).detach()''', ("g * v", "second differentiation"), "multiplies the gradient by v (red team)"),
    Mistake("hvp_f_on_callers_x", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    xr = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), xr, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, xr)
    return hv.detach()''', ("f was called on a tensor that does not require grad",), "calls f on the caller's x"),
    Mistake("hvp_returns_dot_product", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    return (g @ v).detach()''', ("scalar", "g @ v"), "returns g @ v"),
    # --- Exercise 5: newton_step
    Mistake("newton_wrong_sign", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    return (x + torch.linalg.solve(H, g)).detach()''', ("moved away", "subtracted"), "adds the Newton step"),
    Mistake("newton_gradient_step", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    return (x - torch.func.grad(f)(x)).detach()''', ("gradient-descent step",), "a gradient step, no curvature"),
    Mistake("newton_solve_arguments_swapped", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    return (x - torch.linalg.solve(g, H)).detach()''', ("matrix first",), "torch.linalg.solve(g, H)"),
    Mistake("newton_not_detached", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    H = torch.autograd.functional.hessian(f, x)
    return x - torch.linalg.solve(H, g)''', ("detached",), "returns a tensor with a graph"),
    Mistake("newton_inverse_times_g_elementwise", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    return (x - torch.linalg.inv(H) * g).detach()''', ("(2, 2)", "element-wise product", "matrix-vector product"),
            "inv(H) * g, element-wise (red team)"),
    Mistake("newton_column_step", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    return (x - torch.linalg.solve(H, g.unsqueeze(1))).detach()''', ("(2, 2)", "column"),
            "solves for a column, then subtracts it from the vector x"),
    Mistake("newton_multiplies_by_hessian", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    return (x - H @ g).detach()''', ("multiplies by h instead of solving",), "x - H g"),
    Mistake("newton_damped_step", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    return (x - 0.5 * torch.linalg.solve(H, g)).detach()''', ("0.5 times the newton step",), "a step size"),
    Mistake("newton_f_on_plain_tensor", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    H = torch.stack([torch.autograd.grad(gi, x, retain_graph=True)[0] for gi in g])
    return (x - torch.linalg.solve(H, g)).detach()''', ("f was called on a tensor that does not require grad",),
            "autograd.grad on a tensor that does not require grad"),
    # --- Exercise 6: per-example gradients
    Mistake("per_example_in_dims_all_mapped", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    return torch.func.vmap(torch.func.grad(loss_fn))(w, X, Y).detach()''', ("in_dims", "(None, 0, 0)"),
            "maps w over its first dimension too"),
    Mistake("per_example_batch_gradient", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    def batch_loss(w):
        return torch.func.vmap(loss_fn, in_dims=(None, 0, 0))(w, X, Y).sum()
    return torch.func.grad(batch_loss)(w).detach()''', ("whole batch", "one row per example"),
            "the gradient of the batch's loss"),
    Mistake("per_example_loop", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    rows = []
    for x, y in zip(X, Y):
        w_leaf = w.detach().requires_grad_(True)
        rows.append(torch.autograd.grad(loss_fn(w_leaf, x, y), w_leaf)[0])
    return torch.stack(rows)''', ("loop",), "a Python loop over the examples"),
    Mistake("per_example_gradient_of_x", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    return torch.func.vmap(torch.func.grad(loss_fn, argnums=1), in_dims=(None, 0, 0))(w, X, Y).detach()''',
            ("with respect to x, not w", "argnums"), "differentiates with respect to x"),
    Mistake("per_example_batch_repeated", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    def batch_loss(w):
        return torch.func.vmap(loss_fn, in_dims=(None, 0, 0))(w, X, Y).sum()
    return torch.func.grad(batch_loss)(w).expand(len(X), -1).detach()''', ("every row of g is the same",),
            "the batch gradient repeated on every row"),
    # --- round 2 of the red team (issue 12): the causes are verified before they are named
    Mistake("poly_y_before_leaf", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    y = x**3 - 6 * x**2 + 8 * x
    x = x.detach().requires_grad_(True)
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy.sum(), x)
    return y.detach(), dy.detach(), d2y.detach()''', ("computed from the caller's x",),
            "computes y from the caller's x, then makes the leaf"),
    Mistake("poly_grad_arguments_swapped", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(x, y.sum(), create_graph=True)
    (d2y,) = torch.autograd.grad(x, dy.sum())
    return y.detach(), dy.detach(), d2y.detach()''', ("arguments of torch.autograd.grad are swapped",),
            "torch.autograd.grad(inputs, outputs): the arguments swapped"),
    Mistake("second_linear_returns_float", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    if not d1.requires_grad:
        return 0.0
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return d2.detach()''', ("return a tensor", "float"), "the linear case returns the number 0.0"),
    Mistake("hvp_differentiates_wrt_v", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, v)
    return hv.detach()''', ("with respect to v", "torch.autograd.grad(g @ v, x)"),
            "the second pass differentiates with respect to v instead of x"),
    Mistake("newton_in_place_on_detached_alias", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()                       # "a copy"
    g = torch.func.grad(f)(x)
    H = torch.func.hessian(f)(x)
    x -= torch.linalg.solve(H, g)
    return x''', ("changed the x it was given", "x.detach() is NOT a copy"),
            "updates x.detach() in place, believing detach() copies"),
    Mistake("per_example_grad_without_vmap", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    return torch.func.grad(loss_fn)(w, X, Y).detach()''', ("whole batch", "vmap"),
            "torch.func.grad on the whole batch, no vmap"),
]

# Round 3 (issue 12 item 3): the evaluator's fresh mistakes.
MISTAKES += [
    Mistake("newton_jacobian_as_hessian", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach()
    g = torch.func.grad(f)(x)
    H = torch.func.jacrev(f)(x)
    return (x - torch.linalg.solve(H, g)).detach()''', ("both arguments of torch.linalg.solve are vectors",
                                                        "torch.func.hessian(f)"),
            "takes torch.func.jacrev(f), the gradient, for the Hessian"),
    Mistake("newton_hessian_without_create_graph", _NEWTON, _NEWTON_TEST, '''\
def newton_step(f, x):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x)
    H = torch.stack([torch.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(x.numel())])
    return (x - torch.linalg.solve(H, g)).detach()''', ("create_graph=True",),
            "builds the Hessian from a gradient taken without create_graph"),
    Mistake("hvp_backward_twice_accumulates", _HVP, _HVP_TEST, '''\
def hvp(f, x, v):
    x = x.detach().requires_grad_(True)
    f(x).backward(create_graph=True)
    g = x.grad
    g.backward(v)
    return x.grad.detach()''', ("g + H v", "x.grad was not cleared between the two backward() passes"),
            "backward() twice: x.grad holds g + Hv"),
    Mistake("per_example_loop_without_zeroing", _PER, _PER_TEST, '''\
def per_example_grads(loss_fn, w, X, Y):
    w = w.detach().requires_grad_(True)
    grads = []
    for x, y in zip(X, Y):
        loss_fn(w, x, y).backward()
        grads.append(w.grad.clone())
    return torch.stack(grads)''', ("use vmap", "w.grad was never cleared"),
            "loops with backward() and never clears w.grad"),
    Mistake("poly_second_pass_without_sum", _POLY, _POLY_TEST, '''\
def poly_derivatives(x):
    x = x.detach().requires_grad_(True)
    y = x**3 - 6 * x**2 + 8 * x
    (dy,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy, x)
    return y.detach(), dy.detach(), d2y.detach()''', ("dy.sum()",), "no sum trick on the second pass"),
    Mistake("second_linear_check_is_none", _SECOND, _SECOND_TEST, '''\
def second_derivative(f, x):
    x = x.detach().requires_grad_(True)
    (d1,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    if d1 is None:
        return torch.zeros_like(x).detach()
    (d2,) = torch.autograd.grad(d1.sum(), x, allow_unused=True, materialize_grads=True)
    return d2.detach()''', ("without a graph", "d1.requires_grad"), "tests the linear case with d1 is None"),
]

# the fourth independent round (issue 12, round 4): each message verifies the cause it names
ROUND_4 = [
    Mistake("plot_scatter_not_lines", _PLOT, _PLOT_TEST, '''\
def plot_poly_derivatives():
    x = torch.linspace(0, 5, 201, device=DEVICE)
    y, dy, d2y = poly_derivatives(x)
    xp = x.cpu()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(xp, y.cpu(), s=2, label="y")
    ax.scatter(xp, dy.cpu(), s=2, label="dy/dx")
    ax.scatter(xp, d2y.cpu(), s=2, label="d2y/dx2")
    ax.axhline(0, color="gray", lw=0.8)
    ax.legend()
    return fig''', ("separate points (ax.scatter)", "ax.plot(x, values)"),
            "draws the curves with ax.scatter (and an axhline, which must not read as a line against its index)"),
]
MISTAKES += ROUND_4
