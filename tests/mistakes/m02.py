"""02_backward: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

SLUG = "02_backward"

_LOG = "log_square"
_LOG_TEST = "test_log_square"
_TWO = "two_input_gradients"
_TWO_TEST = "test_two_input_gradients"
_VJP = "vjp"
_VJP_TEST = "test_vjp"
_NUM = "numerical_grad"
_NUM_TEST = "test_numerical_grad"
_CHECK = "gradcheck_by_hand"
_CHECK_TEST = "test_gradcheck_by_hand"
_KINKS = "kink_predictions"
_KINKS_TEST = "test_kink_predictions"

_TWO_PLOT = '''
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    return x, x2, y, fig'''

_CHECK_NUMERICAL = '''
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape)))
                                 .reshape(-1) / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)'''
_CHECK_ANALYTICAL = '''
    y = fn(x64)
    analytical = torch.stack([torch.autograd.grad(y, x64, e.reshape(y.shape), retain_graph=True)[0].reshape(-1)
                              for e in torch.eye(y.numel(), dtype=y.dtype)])'''


def _kinks(**changes):
    right = {"relu'(0)": "0.0", "abs'(0)": "0.0", "clamp(min=0)'(0)": "1.0", "maximum(t, 0)'(0)": "0.5",
             "sqrt'(0)": 'float("inf")', "(relu(t) - relu(-t))'(0)": "0.0", "leaky_relu'(0)": "0.01",
             "hardtanh'(1)": "0.0", "clamp(-1, 1)'(1)": "1.0", "max of [1, 1, 0]": "[0.5, 0.5, 0.0]"}
    right.update(changes)
    return "KINK_PREDICTIONS = {\n" + "".join(f"    {k!r}: {v},\n" for k, v in right.items()) + "}"


MISTAKES = [
    # --- Exercise 1: the chain rule and retain_grad
    Mistake("log_no_retain_grad", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    y = z ** 2
    y.sum().backward()
    return z, y''', ("retain_grad()",), "forgets retain_grad()"),
    Mistake("log_retain_grad_after_backward", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    y = z ** 2
    y.sum().backward()
    z.retain_grad()
    return z, y''', ("before backward()",), "retain_grad() after backward()"),
    Mistake("log_backward_on_a_vector", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    y.backward()
    return z, y''', ("y.sum()",), "backward() on a vector"),
    Mistake("log_autograd_grad_instead", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    torch.autograd.grad(y.sum(), x)
    return z, y''', ("returns the gradients instead of filling .grad",), "torch.autograd.grad leaves .grad empty"),
    Mistake("log_graph_cut_by_detach", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x.detach())
    z.retain_grad()
    y = z ** 2
    y.sum().backward()
    return z, y''', ("no detach()",), "detach() cuts x out of the graph"),
    Mistake("log_backward_twice", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    return z, y''', ("twice", "accumulates"), "two backward passes add up in .grad"),
    Mistake("log_mean_instead_of_sum", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    y.mean().backward()
    return z, y''', ("y.mean()", "divides"), "mean() scales the gradient by 1/n"),
    Mistake("log_in_place_on_x", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = x.log_()          # in place, to "save memory"
    z.retain_grad()
    y = z**2
    y.sum().backward()
    return z, y''', ("in-place operation on x", "out of place"), "computes the log in place on the input leaf x"),
    Mistake("log_square_in_place", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z.pow_(2)         # in place, to "save memory"
    y.sum().backward()
    return z, y''', ("one tensor", "out of place"), "squares z in place: z and y are one tensor"),
    Mistake("log_returns_swapped", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z**2
    y.sum().backward()
    return y, z''', ("swapped",), "returns (y, z)"),
    Mistake("log_backward_from_z", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z**2
    z.sum().backward()
    return z, y''', ("started at z",), "runs the backward pass from z instead of y"),
    Mistake("log_no_backward", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z**2
    return z, y''', ("no backward pass reached x", "y.sum().backward()"), "never runs the backward pass"),
    # --- Exercise 2: two independent inputs
    Mistake("two_x2_is_a_clone", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = x.clone()
    y = f(x, x2)
    x2.retain_grad()
    y.sum().backward()''' + _TWO_PLOT, ("not a leaf", "clone()"), "x2 computed from x with clone()"),
    Mistake("two_x2_is_x", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = x
    y = f(x, x2)
    y.sum().backward()''' + _TWO_PLOT, ("x2 is x itself",), "the same tensor for both inputs"),
    Mistake("two_x2_shares_memory", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = x.detach().requires_grad_()
    y = f(x, x2)
    y.sum().backward()''' + _TWO_PLOT, ("shares memory",), "x2 is a detached view of x"),
    Mistake("two_backward_twice", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()      # for x
    y.sum().backward()      # for x2''' + _TWO_PLOT, ("one backward()",), "a second backward pass through a freed graph"),
    Mistake("two_backward_twice_retained", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward(retain_graph=True)
    y.sum().backward()''' + _TWO_PLOT, ("twice", "accumulates"), "two backward passes add up in .grad"),
    Mistake("two_backward_on_a_vector", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.backward()''' + _TWO_PLOT, ("y.sum()",), "backward() on a vector"),
    Mistake("two_lines_in_wrong_order", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    return x, x2, y, fig''', ("in this order",), "plots dy/dx2 before dy/dx"),
    Mistake("two_plots_tensors_with_history", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()
    fig, ax = plt.subplots()
    ax.plot(x, y, label="y")
    ax.plot(x, x.grad, label="dy/dx")
    ax.plot(x, x2.grad, label="dy/dx2")
    return x, x2, y, fig''', (".detach().cpu()",), "gives matplotlib tensors that require grad"),
    Mistake("two_grid_with_arange", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.arange(0, 5, 5 / n, device=DEVICE, requires_grad=True)
    x2 = torch.arange(0, 5, 5 / n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()''' + _TWO_PLOT, ("end point 5 is left out", "arange"), "arange stops before 5"),
    Mistake("two_arguments_swapped", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x2, x)
    y.sum().backward()''' + _TWO_PLOT, ("other order", "f(x, x2)"), "calls f(x2, x)"),
    Mistake("two_mean_instead_of_sum", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.mean().backward()''' + _TWO_PLOT, ("y.mean()", "y.sum()"), "backward on y.mean()"),
    Mistake("two_ignores_n", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, 100, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, 100, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()''' + _TWO_PLOT, ("with the n given",), "always 100 points"),
    Mistake("two_plots_against_index", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()
    fig, ax = plt.subplots()
    ax.plot(y.detach().cpu(), label="y")
    ax.plot(x.grad.cpu(), label="dy/dx")
    ax.plot(x2.grad.cpu(), label="dy/dx2")
    return x, x2, y, fig''', ("the indices", "ax.plot(x, values)"), "plots against the index"),
    # --- Exercise 3: a vector-Jacobian product
    Mistake("vjp_sum_trick", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    (result,) = torch.autograd.grad(f(x).sum(), x)
    return result''', ("v was ignored", "sum trick"), "ignores v: the sum trick"),
    Mistake("vjp_modifies_x", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x.requires_grad_(True)
    (result,) = torch.autograd.grad(f(x), x, grad_outputs=v)
    return result''', ("leave x as it was",), "switches requires_grad on for the caller's x"),
    Mistake("vjp_x_does_not_require_grad", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    (result,) = torch.autograd.grad(f(x), x, grad_outputs=v)
    return result''', ("x.detach().requires_grad_()",), "differentiates with respect to an x that does not require grad"),
    Mistake("vjp_no_grad_outputs", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    (result,) = torch.autograd.grad(f(x), x)
    return result''', ("grad_outputs=v",), "a vector output without grad_outputs"),
    Mistake("vjp_jacobian_times_v", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    J = jacobian(f, x)
    return J.reshape(v.numel(), x.numel()) @ v.reshape(-1)''', ("J v",), "J v instead of v^T J"),
    Mistake("vjp_gradient_times_v", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    y = f(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    return g * v''', ("multiplied by v afterwards", "grad_outputs=v"), "the sum-trick gradient times v"),
    Mistake("vjp_f_of_caller_x", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    leaf = x.detach().requires_grad_(True)
    (result,) = torch.autograd.grad(f(x), leaf, grad_outputs=v)
    return result''', ("evaluated on the caller's x",), "makes a leaf but evaluates f on the caller's x"),
    Mistake("vjp_grad_outputs_with_sum", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    (result,) = torch.autograd.grad(f(x).sum(), x, grad_outputs=v)
    return result''', ("shape of what you differentiate", "not its sum"), "grad_outputs=v on the summed output"),
    Mistake("vjp_sign_flipped", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    (result,) = torch.autograd.grad(f(x), x, grad_outputs=v)
    return -result''', ("sign is flipped",), "a stray minus sign"),
    # --- Exercise 4: central differences
    Mistake("num_forward_difference", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    base = float(f(flat.view(x.shape)))
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        grad[j] = (float(f(flat.view(x.shape))) - base) / eps
        flat[j] = saved
    return grad.view(x.shape)''', ("forward difference",), "a forward difference"),
    Mistake("num_divides_by_eps", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / eps
    return grad.view(x.shape)''', ("2 * eps",), "divides by eps instead of 2 eps"),
    Mistake("num_ignores_eps", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    h = 1e-6
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + h
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - h
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * h)
    return grad.view(x.shape)''', ("eps you were given was not used",), "a step of its own instead of eps"),
    Mistake("num_modifies_x", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.view(-1)
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(x))
        flat[j] = saved - eps
        f_minus = float(f(x))
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''', ("do not modify x",), "perturbs x itself and does not put it back"),
    Mistake("num_uses_autograd", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x)
    return grad''', ("black box",), "uses autograd where f is a black box"),
    Mistake("num_loop_off_by_one", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel() - 1):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''', ("where it is 0", "loop that stops early"), "the loop skips the last element"),
    Mistake("num_shifts_all_of_x", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    x = x.detach()
    slope = (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)
    return torch.full_like(x, slope)''', ("whole x was shifted", "one element at a time"), "perturbs all of x at once"),
    Mistake("num_not_put_back", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''', ("not put back",), "leaves x_j perturbed for the next element"),
    Mistake("num_float32_result", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros(flat.numel())
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''', ("float32 by default", "zeros_like(x)"), "a float32 result from torch.zeros(n)"),
    # --- Exercise 5: gradcheck by hand
    Mistake("check_sum_trick_rows", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    (column_sums,) = torch.autograd.grad(y.sum(), x64)
    analytical = column_sums.reshape(1, -1).expand(y.numel(), -1)''' + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("sum trick", "one-hot"), "one backward with v = 1 for every row"),
    Mistake("check_tolerance_order_swapped", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()''' + _CHECK_ANALYTICAL + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(numerical, analytical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("allclose(analytical, numerical)",), "allclose(numerical, analytical): rtol scales the wrong side"),
    Mistake("check_in_float32", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().clone().requires_grad_()''' + _CHECK_ANALYTICAL + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("float64",), "stays in float32"),
    Mistake("check_transposed", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()''' + _CHECK_ANALYTICAL + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach().T, numerical.T''',
            ("rows are the 4 outputs",), "returns the Jacobians transposed (inputs x outputs)"),
    Mistake("check_forward_difference", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()''' + _CHECK_ANALYTICAL + '''
    with torch.no_grad():
        base = fn(x64).reshape(-1)
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)).reshape(-1) - base) / eps
                                 for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("forward difference",), "a forward difference for the numerical side"),
    Mistake("check_tensor_verdict", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()''' + _CHECK_ANALYTICAL + _CHECK_NUMERICAL + '''
    passed = ((analytical - numerical).abs() <= atol + rtol * numerical.abs()).all()
    return passed, analytical.detach(), numerical''', ("python bool",), "returns a 0-dim tensor as the verdict"),
    Mistake("check_rows_without_retain_graph", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    analytical = torch.stack([torch.autograd.grad(y, x64, e.reshape(y.shape))[0].reshape(-1)
                              for e in torch.eye(y.numel(), dtype=y.dtype)])''' + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("retain_graph=True",), "one reverse pass per row without retain_graph"),
    Mistake("check_one_hot_over_inputs", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    analytical = torch.stack([torch.autograd.grad(y, x64, e, retain_graph=True)[0]
                              for e in torch.eye(x64.numel(), dtype=y.dtype)])''' + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("shape of y", "torch.eye(y.numel())"), "one-hot vectors over the inputs instead of the outputs"),
    Mistake("check_rows_accumulate", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    rows = []
    for e in torch.eye(y.numel(), dtype=y.dtype):
        y.backward(e.reshape(y.shape), retain_graph=True)
        rows.append(x64.grad.reshape(-1).clone())
    analytical = torch.stack(rows)''' + _CHECK_NUMERICAL + '''
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("accumulates", "x64.grad = None"), ".grad not cleared between the row passes"),
    # --- Exercise 6: kinks, predicted then verified
    Mistake("kinks_relu_average", _KINKS, _KINKS_TEST, _kinks(**{"relu'(0)": "0.5"}),
            ("relu'(0)", "minimum-norm"), "the average of the one-sided slopes at relu's kink"),
    Mistake("kinks_clamp_like_relu", _KINKS, _KINKS_TEST, _kinks(**{"clamp(min=0)'(0)": "0.0"}),
            ("clamp(min=0)'(0)", "boundary included"), "clamp(min=0) taken for relu at 0"),
    Mistake("kinks_maximum_picks_one", _KINKS, _KINKS_TEST, _kinks(**{"maximum(t, 0)'(0)": "1.0"}),
            ("maximum(t, 0)'(0)", "splits the gradient evenly"), "a tie in torch.maximum"),
    Mistake("kinks_max_tie_first_index", _KINKS, _KINKS_TEST, _kinks(**{"max of [1, 1, 0]": "[1.0, 0.0, 0.0]"}),
            ("max of [1, 1, 0]", "tied maxima"), "all of max()'s gradient to the first of a tie"),
    Mistake("kinks_sqrt_nan", _KINKS, _KINKS_TEST, _kinks(**{"sqrt'(0)": 'float("nan")'}),
            ("sqrt'(0)", "continuity"), "sqrt at 0 taken for outside the domain"),
    Mistake("kinks_leaky_relu_one", _KINKS, _KINKS_TEST, _kinks(**{"leaky_relu'(0)": "1.0"}),
            ("leaky_relu'(0)", "t > 0 strictly"), "leaky_relu at 0 taken for the positive side"),
    Mistake("kinks_hardtanh_like_clamp", _KINKS, _KINKS_TEST, _kinks(**{"hardtanh'(1)": "1.0"}),
            ("hardtanh'(1)", "strictly inside"), "hardtanh's corner taken for clamp's"),
    # --- Found while generalising the visible tests (mistakes nobody had listed)
    Mistake("log_returns_detached", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    y.sum().backward()
    return z.detach(), y.detach()''',
            ("no history", "detach()"), "returns z.detach(), y.detach()"),
    Mistake("log_zeroes_grad_after_backward", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = z ** 2
    y.sum().backward()
    x.grad.zero_()
    return z, y''',
            ("all zeros", "zeroed after backward"), "x.grad.zero_() after backward"),
    Mistake("log_through_numpy", _LOG, _LOG_TEST, '''\
def log_square(x):
    z = torch.from_numpy(np.log(x.detach().cpu().numpy()))
    z.requires_grad_()
    z.retain_grad()
    y = z ** 2
    y.sum().backward()
    return z, y''',
            ("z is a leaf", "numpy"), "computes the log in NumPy: z is a new leaf"),
    Mistake("two_x2_without_requires_grad", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE)
    y = f(x, x2)
    y.sum().backward()
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, torch.zeros(n), label="dy/dx2")
    return x, x2, y, fig''',
            ("x2 does not require grad",), "x2 created without requires_grad"),
    Mistake("two_zeroes_grad_after_plot", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    x.grad.zero_(); x2.grad.zero_()
    return x, x2, y, fig''',
            ("all zeros", "zeroed after backward"), "zeroes .grad before returning"),
    Mistake("two_autograd_grad_instead", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    gx, gx2 = torch.autograd.grad(y.sum(), [x, x2])
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, gx.cpu(), label="dy/dx")
    ax.plot(xs, gx2.cpu(), label="dy/dx2")
    return x, x2, y, fig''',
            ("torch.autograd.grad returns the gradients",), "torch.autograd.grad leaves .grad empty"),
    Mistake("two_wrong_range", _TWO, _TWO_TEST, '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(-5, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(-5, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2)
    y.sum().backward()
    xs = x.detach().cpu()
    fig, ax = plt.subplots()
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    return x, x2, y, fig''',
            ("runs from -5 to 5", "linspace(0, 5, n)"), "a grid from -5"),
    Mistake("vjp_returns_tuple", _VJP, _VJP_TEST, '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(f(x), x, grad_outputs=v)''',
            ("tuple", "unpack"), "returns the tuple torch.autograd.grad gives"),
    Mistake("vjp_arguments_swapped", _VJP, _VJP_TEST, '''\
def vjp(f, v, x):
    x = x.detach().requires_grad_(True)
    (result,) = torch.autograd.grad(f(x), x, grad_outputs=v)
    return result''',
            ("x and v exchanged",), "defines vjp(f, v, x)"),
    Mistake("num_float32_inside", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone().float()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape).to(x.dtype)''',
            ("float32 rounding",), "perturbs a float32 copy of x"),
    Mistake("num_plus_minus_swapped", _NUM, _NUM_TEST, '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved - eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved + eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''',
            ("sign is flipped",), "f(x - eps) - f(x + eps)"),
    Mistake("num_arguments_swapped", _NUM, _NUM_TEST, '''\
def numerical_grad(x, f, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    return flat''',
            ("order (f, x, eps)",), "defines numerical_grad(x, f, eps)"),
    Mistake("check_default_tolerances", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    analytical = torch.stack([torch.autograd.grad(y, x64, e.reshape(y.shape), retain_graph=True)[0].reshape(-1)
                              for e in torch.eye(y.numel(), dtype=y.dtype)])
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape)))
                                 .reshape(-1) / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    return bool(torch.allclose(analytical, numerical)), analytical.detach(), numerical''',
            ("rtol and atol given",), "allclose without the rtol and atol given"),
    Mistake("check_ignores_eps", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    analytical = torch.stack([torch.autograd.grad(y, x64, e.reshape(y.shape), retain_graph=True)[0].reshape(-1)
                              for e in torch.eye(y.numel(), dtype=y.dtype)])
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + 1e-6 * e.reshape(x64.shape)) - fn(x64 - 1e-6 * e.reshape(x64.shape)))
                                 .reshape(-1) / (2 * 1e-6) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("eps given was not used",), "a fixed step instead of eps"),
    Mistake("check_fn_on_caller_x", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x)
    analytical = torch.stack([torch.autograd.grad(y, x64, e.reshape(y.shape), retain_graph=True)[0].reshape(-1)
                              for e in torch.eye(y.numel(), dtype=y.dtype)])
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape)))
                                 .reshape(-1) / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("evaluated on the caller's x",), "fn(x) instead of fn(x64)"),
    Mistake("check_rows_are_views", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    rows = []
    for e in torch.eye(y.numel(), dtype=y.dtype):
        if x64.grad is not None:
            x64.grad.zero_()
        y.backward(e.reshape(y.shape), retain_graph=True)
        rows.append(x64.grad.reshape(-1))
    analytical = torch.stack(rows)
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape)))
                                 .reshape(-1) / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("same .grad tensor", "clone()"), "stores views of .grad: every row is the last"),
    Mistake("check_rows_views_accumulate", _CHECK, _CHECK_TEST, '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().double().requires_grad_()
    y = fn(x64)
    rows = []
    for e in torch.eye(y.numel(), dtype=y.dtype):
        y.backward(e.reshape(y.shape), retain_graph=True)
        rows.append(x64.grad.view(-1))
    analytical = torch.stack(rows)
    with torch.no_grad():
        numerical = torch.stack([(fn(x64 + eps * e.reshape(x64.shape)) - fn(x64 - eps * e.reshape(x64.shape)))
                                 .reshape(-1) / (2 * eps) for e in torch.eye(x64.numel(), dtype=x64.dtype)], dim=1)
    return bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol)), analytical.detach(), numerical''',
            ("same .grad tensor", "clear .grad"), "views of .grad, never cleared"),
    # --- round 2 of typical mistakes (issue 12)
    Mistake("log_recomputed_for_y", "log_square", "test_log_square", '''\
def log_square(x):
    z = torch.log(x)
    z.retain_grad()
    y = torch.log(x) ** 2      # recomputes the log: this one is not z
    y.sum().backward()
    return z, y''',
            ('not the one y was computed from',), "recomputes torch.log(x) for y, so the z returned is not in y's graph"),
    Mistake("log_requires_grad_instead_of_retain", "log_square", "test_log_square", '''\
def log_square(x):
    z = torch.log(x)
    z.requires_grad_()
    y = z**2
    y.sum().backward()  # elementwise, so d(sum)/dx_i = dy_i/dx_i
    return z, y''',
            ('retain_grad()',), 'z.requires_grad_() where z.retain_grad() is meant'),
    Mistake("vjp_v_as_row", "vjp", "test_vjp", '''\
def vjp(f, x, v):
    x = x.detach().requires_grad_(True)
    y = f(x)
    (result,) = torch.autograd.grad(y, x, grad_outputs=v.unsqueeze(0))
    return result''',
            ('reshaped',), 'passes v^T as a row vector, v.unsqueeze(0) (wrong shape)'),
    Mistake("num_precedence", "numerical_grad", "test_numerical_grad", '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / 2 * eps
    return grad.view(x.shape)''',
            ('precedence', '(2 * eps)'), 'operator precedence: / 2 * eps multiplies by eps'),
    Mistake("check_rows_concatenated", "gradcheck_by_hand", "test_gradcheck_by_hand", '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    y = fn(x64)
    rows = []
    for e in torch.eye(y.numel(), dtype=y.dtype, device=y.device):  # one reverse pass per output element
        (row,) = torch.autograd.grad(y, x64, grad_outputs=e.reshape(y.shape), retain_graph=True,
                                     allow_unused=True, materialize_grads=True)
        rows.append(row.reshape(-1))
    analytical = torch.cat(rows)

    flat = x64.detach().reshape(-1).clone()
    columns = []
    with torch.no_grad():
        for j in range(flat.numel()):  # two forward evaluations per input element
            saved = flat[j].item()
            flat[j] = saved + eps
            plus = fn(flat.view(x64.shape)).reshape(-1)
            flat[j] = saved - eps
            minus = fn(flat.view(x64.shape)).reshape(-1)
            flat[j] = saved
            columns.append((plus - minus) / (2 * eps))
    numerical = torch.stack(columns, dim=1)

    passed = bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol))  # gradcheck's order
    return passed, analytical.detach(), numerical''',
            ('torch.stack',), 'torch.cat instead of torch.stack for the Jacobian rows: a flat vector'),
    Mistake("kinks_relu_difference_is_t", "kink_predictions", "test_kink_predictions", '''\
# Predict first (before running anything), then verify with autograd and correct.
KINK_PREDICTIONS = {
    "relu'(0)": 0.0,                    # convex kink: minimum-norm subgradient of [0, 1]
    "abs'(0)": 0.0,                     # convex kink: minimum-norm subgradient of [-1, 1]
    "clamp(min=0)'(0)": 1.0,            # clamp passes the gradient where t >= min, boundary included
    "maximum(t, 0)'(0)": 0.5,           # a tie: torch.maximum splits the gradient evenly
    "sqrt'(0)": float("inf"),           # the limit of 1 / (2 sqrt(t))
    "(relu(t) - relu(-t))'(0)": 1.0,    # 0 - 0: chained subgradients, although the function is t
    "leaky_relu'(0)": 0.01,             # the slope for t > 0 is used only where t > 0
    "hardtanh'(1)": 0.0,                # hardtanh passes the gradient only strictly inside (-1, 1)
    "clamp(-1, 1)'(1)": 1.0,            # clamp includes its bounds
    "max of [1, 1, 0]": [0.5, 0.5, 0.0],  # max() spreads the gradient evenly over tied maxima
}''',
            ('although the function is t',), "predicts 1 for (relu(t) - relu(-t))'(0) because the function equals t"),
    # --- round 3 of typical mistakes (issue 12 item 3)
    Mistake('log_fresh_leaf_hides_callers_grad', 'log_square', 'test_log_square', '''\
def log_square(x):
    x = x.detach().requires_grad_(True)   # a fresh leaf, as in derivative_of
    z = torch.log(x)
    z.retain_grad()
    y = z**2
    y.sum().backward()  # elementwise, so d(sum)/dx_i = dy_i/dx_i
    return z, y''',
            ("does not lead back to the caller's x",), "makes a fresh leaf inside: the gradient lands on the copy, the caller's x.grad stays None"),
    Mistake('two_returns_summed_y', 'two_input_gradients', 'test_two_input_gradients', '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    y = f(x, x2).sum()
    y.backward()

    xs = x.detach().cpu()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("x (= x2)")
    ax.legend()
    return x, x2, y, fig''',
            ('y was summed',), 'sums y at once (to call backward), then returns and plots the scalar instead of the vector y'),
    Mistake('vjp_reads_callers_grad', 'vjp', 'test_vjp', '''\
def vjp(f, x, v):
    x_leaf = x.detach().requires_grad_(True)
    y = f(x_leaf)
    y.backward(v)
    return x.grad''',
            ("leaf's .grad", "caller's x.grad"), "backpropagates into a fresh leaf but returns the caller's x.grad"),
    Mistake('num_minus_from_shifted_point', 'numerical_grad', 'test_numerical_grad', '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j].item()
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] -= eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''',
            ('evaluation was at x itself',), 'steps back with flat[j] -= eps from x + eps (lands on x, not x - eps): `-=` where `= saved -` was meant'),
    Mistake('check_numerical_stacked_as_rows', 'gradcheck_by_hand', 'test_gradcheck_by_hand', '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    y = fn(x64)
    rows = []
    for e in torch.eye(y.numel(), dtype=y.dtype, device=y.device):  # one reverse pass per output element
        (row,) = torch.autograd.grad(y, x64, grad_outputs=e.reshape(y.shape), retain_graph=True,
                                     allow_unused=True, materialize_grads=True)
        rows.append(row.reshape(-1))
    analytical = torch.stack(rows)

    flat = x64.detach().reshape(-1).clone()
    columns = []
    with torch.no_grad():
        for j in range(flat.numel()):  # two forward evaluations per input element
            saved = flat[j].item()
            flat[j] = saved + eps
            plus = fn(flat.view(x64.shape)).reshape(-1)
            flat[j] = saved - eps
            minus = fn(flat.view(x64.shape)).reshape(-1)
            flat[j] = saved
            columns.append((plus - minus) / (2 * eps))
    numerical = torch.stack(columns)

    passed = bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol))  # gradcheck's order
    return passed, analytical.detach(), numerical''',
            ('torch.stack(columns, dim=1)',), 'stacks the numerical columns with the default dim=0: the numerical Jacobian comes out transposed'),
    Mistake('kinks_abs_sign_one', 'kink_predictions', 'test_kink_predictions', '''\
# Predict first (before running anything), then verify with autograd and correct.
KINK_PREDICTIONS = {
    "relu'(0)": 0.0,                    # convex kink: minimum-norm subgradient of [0, 1]
    "abs'(0)": 1.0,                     # convex kink: minimum-norm subgradient of [-1, 1]
    "clamp(min=0)'(0)": 1.0,            # clamp passes the gradient where t >= min, boundary included
    "maximum(t, 0)'(0)": 0.5,           # a tie: torch.maximum splits the gradient evenly
    "sqrt'(0)": float("inf"),           # the limit of 1 / (2 sqrt(t))
    "(relu(t) - relu(-t))'(0)": 0.0,    # 0 - 0: chained subgradients, although the function is t
    "leaky_relu'(0)": 0.01,             # the slope for t > 0 is used only where t > 0
    "hardtanh'(1)": 0.0,                # hardtanh passes the gradient only strictly inside (-1, 1)
    "clamp(-1, 1)'(1)": 1.0,            # clamp includes its bounds
    "max of [1, 1, 0]": [0.5, 0.5, 0.0],  # max() spreads the gradient evenly over tied maxima
}''',
            ('minimum-norm subgradient',), "predicts abs'(0) = 1 (the right derivative)"),

]


# Round 4 (issue 12 item 3): messages that name a cause only after checking it
MISTAKES += [
    Mistake('two_requires_grad_after_f', 'two_input_gradients', 'test_two_input_gradients', '''\
def two_input_gradients(f, n=100):
    x = torch.linspace(0, 5, n, device=DEVICE, requires_grad=True)
    x2 = torch.linspace(0, 5, n, device=DEVICE)
    y = f(x, x2)
    x2.requires_grad_(True)
    y.sum().backward()

    xs = x.detach().cpu()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, y.detach().cpu(), label="y")
    ax.plot(xs, x.grad.cpu(), label="dy/dx")
    ax.plot(xs, x2.grad.cpu(), label="dy/dx2")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_xlabel("x (= x2)")
    ax.legend()
    return x, x2, y, fig''',
            ('did not require grad when', 'switched on after y was computed'), 'switches requires_grad on for x2 after computing y (wrong order): the graph never saw x2'),
    Mistake('num_saved_is_a_view', 'numerical_grad', 'test_numerical_grad', '''\
def numerical_grad(f, x, eps=1e-6):
    flat = x.detach().reshape(-1).clone()
    grad = torch.zeros_like(flat)
    for j in range(flat.numel()):
        saved = flat[j]
        flat[j] = saved + eps
        f_plus = float(f(flat.view(x.shape)))
        flat[j] = saved - eps
        f_minus = float(f(flat.view(x.shape)))
        flat[j] = saved
        grad[j] = (f_plus - f_minus) / (2 * eps)
    return grad.view(x.shape)''',
            ('at x itself', 'flat[j].item()'), 'keeps saved = flat[j] (a 0-dim view, not a number): it changes with flat[j], so the minus side and the put-back are wrong'),
    Mistake('check_not_put_back', 'gradcheck_by_hand', 'test_gradcheck_by_hand', '''\
def gradcheck_by_hand(fn, x, eps=1e-6, atol=1e-5, rtol=1e-3):
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    y = fn(x64)
    rows = []
    for e in torch.eye(y.numel(), dtype=y.dtype, device=y.device):  # one reverse pass per output element
        (row,) = torch.autograd.grad(y, x64, grad_outputs=e.reshape(y.shape), retain_graph=True,
                                     allow_unused=True, materialize_grads=True)
        rows.append(row.reshape(-1))
    analytical = torch.stack(rows)

    flat = x64.detach().reshape(-1).clone()
    columns = []
    with torch.no_grad():
        for j in range(flat.numel()):  # two forward evaluations per input element
            saved = flat[j].item()
            flat[j] = saved + eps
            plus = fn(flat.view(x64.shape)).reshape(-1)
            flat[j] = saved - eps
            minus = fn(flat.view(x64.shape)).reshape(-1)
            columns.append((plus - minus) / (2 * eps))
            # (forgot flat[j] = saved)
    numerical = torch.stack(columns, dim=1)

    passed = bool(torch.allclose(analytical, numerical, rtol=rtol, atol=atol))  # gradcheck's order
    return passed, analytical.detach(), numerical''',
            ('was not put back',), 'in the numerical columns, never puts flat[j] back to its value: later columns are taken at a shifted point'),
]
