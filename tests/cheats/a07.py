"""07_capstone: cheats and honest variants (see the package's docstring)."""

from . import Cheat, Honest

SLUG = "07_capstone"

_MLP = '''

def mlp(x, layers):
    for k, (W, bias) in enumerate(layers):
        last = k == len(layers) - 1
        x = [neuron(x, row, bj, activation=not last) for row, bj in zip(W, bias)]
    return x'''

CHEATS = [
    Cheat("fit_line_typed_gradient", "fit_line", ("test_fit_line",),
          "derivatives typed as formulas, plus a decoy backward per step", '''\
def fit_line(x, y, steps, lr):
    """Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b)."""
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    probe = torch.ones(2, dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(steps):
        with torch.no_grad():
            r = w * x + b - y
            w.grad = 2 * (r * x).mean()          # dL/dw, by hand
            b.grad = 2 * r.mean()                # dL/db
        (probe * probe).sum().backward()         # "backward() ran"
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
    return w, b'''),
    Cheat("backward_handed_to_torch", "value_backward", ("test_value_backward",),
          "a forbidden shortcut: Value.backward rebuilds the graph in torch and lets it backpropagate", '''\
def value_backward(self):
    """Fill .grad of every node that self depends on with d(self)/d(node)."""
    order, seen = [], set()
    def visit(v):
        if v not in seen:
            seen.add(v)
            for p in v._parents:
                visit(p)
            order.append(v)
    visit(self)
    replay = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "tanh": torch.tanh, "exp": torch.exp,
              "log": torch.log, "relu": torch.relu}
    tensors = {}
    for v in order:
        if not v._parents:
            t = torch.tensor(v.data, dtype=torch.float64, requires_grad=True)
        else:
            args = [tensors[p] for p in v._parents]
            t = args[0] ** float(v._op[2:]) if v._op.startswith("**") else replay[v._op](*args)
            t.retain_grad()
        tensors[v] = t
    tensors[self].backward()
    for v, t in tensors.items():
        v.grad += 0.0 if t.grad is None else t.grad.item()

Value.backward = value_backward'''),
    Cheat("neuron_in_torch", "neuron_mlp", ("test_neuron_mlp",),
          "a forbidden shortcut: the neuron computed in torch and wrapped in one Value", '''\
def neuron(x, w, b, activation=True):
    """tanh(sum_i w_i * x_i + b) as a Value (without the tanh when activation=False)."""
    inputs = [Value.lift(xi) for xi in x]
    xt = torch.tensor([v.data for v in inputs], dtype=torch.float64, requires_grad=True)
    wt = torch.tensor([v.data for v in w], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b.data, dtype=torch.float64, requires_grad=True)
    z = (wt * xt).sum() + bt
    z = torch.tanh(z) if activation else z
    gx, gw, gb = torch.autograd.grad(z, (xt, wt, bt))
    out = Value(z.item(), (*inputs, *w, b), "neuron")
    def _backward():
        for v, g in zip(inputs, gx.tolist()):
            v.grad += g * out.grad
        for v, g in zip(w, gw.tolist()):
            v.grad += g * out.grad
        b.grad += gb.item() * out.grad
    out._backward = _backward
    return out''' + _MLP),
]

HONEST = [
    Honest("fit_line_zero_and_data", "fit_line", "zero_() and a .data update", '''\
def fit_line(x, y, steps, lr):
    """Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b)."""
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    for step in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        if w.grad is not None:
            w.grad.zero_()
            b.grad.zero_()
        loss.backward()
        w.data -= lr * w.grad
        b.data -= lr * b.grad
        if step % 50 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    return w, b'''),
    Honest("fit_line_autograd_grad", "fit_line", "torch.autograd.grad, gradients stored in .grad", '''\
def fit_line(x, y, steps, lr):
    """Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b)."""
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        w.grad, b.grad = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w.sub_(lr * w.grad)
            b.sub_(lr * b.grad)
    return w, b'''),
    Honest("fit_line_with_stderr_debug", "fit_line", "a debugging line on sys.stderr", '''\
def fit_line(x, y, steps, lr):
    """Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b)."""
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        w.grad = None
        b.grad = None
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
    print(f"fit_line: final loss {loss.item():.3g}", file=sys.stderr)
    return w, b'''),
    Honest("backward_iterative_sort", "value_backward", "an explicit stack instead of recursion", '''\
def value_backward(self):
    """Fill .grad of every node that self depends on with d(self)/d(node)."""
    order, expanded, stack = [], set(), [(self, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)           # all of its parents are in order already
            continue
        if id(node) in expanded:
            continue
        expanded.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in node._parents if id(parent) not in expanded)
    self.grad = 1.0
    for node in reversed(order):
        node._backward()

Value.backward = value_backward'''),
    Honest("neuron_sum_and_bare_ic", "neuron_mlp", "sum() over a generator, a bare ic() as the last line", '''\
def neuron(x, w, b, activation=True):
    """tanh(sum_i w_i * x_i + b) as a Value (without the tanh when activation=False)."""
    z = sum((wi * xi for wi, xi in zip(w, x)), b)
    return z.tanh() if activation else z

def mlp(x, layers):
    """Run the inputs x through the layers [(W, bias), ...]; tanh on every layer but the last."""
    *hidden, (W_last, b_last) = layers
    for W, bias in hidden:
        x = [neuron(x, row, bj) for row, bj in zip(W, bias)]
    return [neuron(x, row, bj, activation=False) for row, bj in zip(W_last, b_last)]

ic(neuron([1.0, 2.0], [Value(0.5), Value(-0.25)], Value(0.1)))'''),
]
