"""07_capstone: cheats and honest variants (see the package's docstring)."""

from . import Cheat, Honest

SLUG = "07_capstone"

_MLP = '''

def mlp(x, layers):
    for k, (W, bias) in enumerate(layers):
        last = k == len(layers) - 1
        x = [neuron(x, row, bj, activation=not last) for row, bj in zip(W, bias)]
    return x'''

_ADD_MUL = '''\
def value_add(self, other):
    other = Value.lift(other)
    out = Value(self.data + other.data, (self, other), "+")
    def _backward():
        self.grad += out.grad
        other.grad += out.grad
    out._backward = _backward
    return out

def value_mul(self, other):
    other = Value.lift(other)
    out = Value(self.data * other.data, (self, other), "*")
    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad
    out._backward = _backward
    return out

'''

# the end of value_tanh, and the three operations attached to Value
_CLOSE_AND_ATTACH = '''\
    out._backward = _backward
    return out

Value.__add__ = value_add
Value.__mul__ = value_mul
Value.tanh = value_tanh'''

# the depth-first topological order of value_backward (also tests/mistakes/m07.py)
TOPO_ORDER = '''\
    order, seen = [], set()
    def visit(v):
        if v not in seen:
            seen.add(v)
            for p in v._parents:
                visit(p)
            order.append(v)
    visit(self)
'''

# the solution's mul_add_backward, after a blank line
_MUL_ADD = '''\

def mul_add_backward(a, b, c, grad_out):
    """The gradients (grad_a, grad_b, grad_c) of out = a * b + c, given grad_out = dL/d(out)."""
    return (unbroadcast(grad_out * b, a.shape),
            unbroadcast(grad_out * a, b.shape),
            unbroadcast(grad_out, c.shape))'''

# fit_line's def, docstring and leaves
_FIT_HEAD = '''\
def fit_line(x, y, steps, lr):
    """Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b)."""
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
'''

CHEATS = [
    Cheat("fit_line_typed_gradient", "fit_line", ("test_fit_line",),
          "derivatives typed as formulas, plus a decoy backward per step", _FIT_HEAD + '''\
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
''' + TOPO_ORDER + '''\
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
    Cheat("fit_line_finite_differences", "fit_line", ("test_fit_line",),
          "finite differences instead of autograd (central, exact on a quadratic), plus a decoy backward", '''\
def fit_line(x, y, steps, lr):
    \"\"\"Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b).\"\"\"
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    x64, y64 = x.double(), y.double()
    def mse(wv, bv):
        return ((wv * x64 + bv - y64) ** 2).mean()
    for _ in range(steps):
        ((w * x + b - y) ** 2).mean().backward()          # "backward() ran"
        with torch.no_grad():
            wv, bv, h = w.double(), b.double(), 1e-3
            w.grad = ((mse(wv + h, bv) - mse(wv - h, bv)) / (2 * h)).to(x.dtype)
            b.grad = ((mse(wv, bv + h) - mse(wv, bv - h)) / (2 * h)).to(x.dtype)
            w -= lr * w.grad
            b -= lr * b.grad
    return w, b'''),
    Cheat("fit_line_backward_then_formula", "fit_line", ("test_fit_line",),
          "derivatives typed as formulas, written over a real backward pass on the loss", '''\
def fit_line(x, y, steps, lr):
    \"\"\"Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b).\"\"\"
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(steps):
        w.grad = b.grad = None
        r = w * x + b - y
        (r ** 2).mean().backward()                         # a real backward pass, then the formula wins
        with torch.no_grad():
            w.grad = 2 * (r * x).mean()
            b.grad = 2 * r.mean()
            w -= lr * w.grad
            b -= lr * b.grad
    return w, b'''),
    Cheat("tanh_by_finite_difference", "value_ops", ("test_value_ops",),
          "finite differences instead of the derivative: tanh's closure by a central difference",
                _ADD_MUL + '''\
def value_tanh(self):
    out = Value(math.tanh(self.data), (self,), "tanh")
    def _backward():
        h = 6e-6
        slope = (math.tanh(self.data + h) - math.tanh(self.data - h)) / (2 * h)
        self.grad += slope * out.grad
''' + _CLOSE_AND_ATTACH),
    Cheat("backward_from_op_table", "value_backward", ("test_value_backward",),
          "arithmetic instead of the mechanism: local derivatives recomputed from a table of _op names", '''\
def value_backward(self):
    \"\"\"Fill .grad of every node that self depends on with d(self)/d(node).\"\"\"
''' + TOPO_ORDER + '''\
    local = {
        "+": lambda v: [1.0, 1.0],
        "*": lambda v: [v._parents[1].data, v._parents[0].data],
        "tanh": lambda v: [1 - v.data ** 2],
        "exp": lambda v: [v.data],
        "log": lambda v: [1 / v._parents[0].data],
        "relu": lambda v: [float(v.data > 0)],
    }
    self.grad = 1.0
    for v in reversed(order):
        if not v._parents:
            continue
        if v._op.startswith("**"):
            k = float(v._op[2:])
            slopes = [k * v._parents[0].data ** (k - 1)]
        else:
            slopes = local[v._op](v)
        for p, slope in zip(v._parents, slopes):
            p.grad += slope * v.grad

Value.backward = value_backward'''),
    Cheat("neuron_products_then_torch", "neuron_mlp", ("test_neuron_mlp",),
          "a forbidden shortcut: the products as Values, their sum and the tanh in torch, wrapped in one Value", '''\
def neuron(x, w, b, activation=True):
    \"\"\"tanh(sum_i w_i * x_i + b) as a Value (without the tanh when activation=False).\"\"\"
    terms = [wi * xi for wi, xi in zip(w, x)] + [b]
    zt = torch.tensor([t.data for t in terms], dtype=torch.float64, requires_grad=True)
    z = zt.sum()
    result = torch.tanh(z) if activation else z
    (slopes,) = torch.autograd.grad(result, zt)
    out = Value(result.item(), tuple(terms), "neuron")
    def _backward():
        for t, s in zip(terms, slopes.tolist()):
            t.grad += s * out.grad
    out._backward = _backward
    return out''' + _MLP),
    Cheat("fit_line_probe_reads_secret", "fit_line", ("test_fit_line",),
          "typed formula; the test's secret read off a probe leaf of its own (red team)", '''\
def fit_line(x, y, steps, lr):
    """Fit y ~ w * x + b; gradients typed in, the test's saved-tensor secret read off a probe."""
    p = torch.ones((), dtype=x.dtype, device=x.device, requires_grad=True)
    (g,) = torch.autograd.grad(p * p, p)          # 2 * secret under the test's hooks, 2 otherwise
    s = g.item() / 2
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    with torch.no_grad():
        for _ in range(steps):
            r = w * x + b - y
            w.grad = s * s * 2 * (r * x).mean()    # pow saves r, mul saves x: each read back times s
            b.grad = s * 2 * r.mean()
            w -= lr * w.grad
            b -= lr * b.grad
    return w, b'''),
    Cheat("fit_line_functional_sgd", "fit_line", ("test_fit_line",),
          "forbidden torch.optim, through its functional form torch.optim.sgd.sgd (red team)", '''\
from torch.optim.sgd import sgd as _sgd

def fit_line(x, y, steps, lr):
    """torch.optim's own SGD update, called without an Optimizer object."""
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(steps):
        w.grad = b.grad = None
        ((w * x + b - y) ** 2).mean().backward()
        with torch.no_grad():
            _sgd([w, b], [w.grad, b.grad], [None, None], weight_decay=0.0, momentum=0.0, lr=lr,
                 dampening=0.0, nesterov=False, maximize=False)
    return w, b'''),
    Cheat("tanh_by_complex_step", "value_ops", ("test_value_ops",),
          "numerical derivative: the complex step, exact to machine precision (red team)", _ADD_MUL + '''\
import cmath

def value_tanh(self):
    """tanh, with a numerical derivative: the complex step, exact to machine precision."""
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")
    h = 1e-30
    slope = cmath.tanh(complex(self.data, h)).imag / h
    def _backward():
        self.grad += slope * out.grad
''' + _CLOSE_AND_ATTACH),
    Cheat("backward_by_creation_order", "value_backward", ("test_value_backward",),
          "no topological sort: Value.__init__ stamped, nodes run newest first (red team)", '''\
import itertools

_birth = itertools.count()
_plain_init = Value.__init__

def _stamped_init(self, *args, **kwargs):
    _plain_init(self, *args, **kwargs)
    self._born = next(_birth)

Value.__init__ = _stamped_init      # every Value remembers when it was made: parents are always older


def value_backward(self):
    """No topological sort: every node reachable, newest first."""
    nodes, stack, seen = [], [self], set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        nodes.append(v)
        stack.extend(v._parents)
    self.grad = 1.0
    for v in sorted(nodes, key=lambda v: getattr(v, "_born", -1), reverse=True):
        v._backward()

Value.backward = value_backward'''),
    Cheat("neuron_fused_reads_closure_defaults", "neuron_mlp", ("test_neuron_mlp",),
          "neuron computed in math, decoy nodes, the secret read from the test's closure defaults (red team)", '''\
def _secret_of(marker):
    # the test wraps each noted node's closure with its secret as a default argument
    d = getattr(marker._backward, "__defaults__", None) or ()
    return next((v for v in d if isinstance(v, float)), 0.0)


def neuron(x, w, b, activation=True):
    """One fused node: forward with math, local gradients typed in, the test's secrets read at backward time."""
    mul_marker = Value(1.0) * 1.0          # one real product and one real tanh, only to be noted by the test
    tanh_marker = Value(0.0).tanh()
    xs = [Value.lift(v) for v in x]
    z = sum(wi.data * xi.data for wi, xi in zip(w, xs)) + b.data
    t = math.tanh(z)
    out = Value(t if activation else z, tuple(w) + tuple(xs) + (b,), "neuron")

    def _backward():
        s_mul, s_tanh = _secret_of(mul_marker), _secret_of(tanh_marker)
        zbar = out.grad * ((1 - t * t + s_tanh) if activation else 1.0)
        for wi, xi in zip(w, xs):
            wi.grad += zbar * (xi.data + s_mul)
            xi.grad += zbar * (wi.data + s_mul)
        b.grad += zbar
    out._backward = _backward
    return out


def mlp(x, layers):
    for k, (W, bias) in enumerate(layers):
        x = [neuron(x, row, bj, activation=k < len(layers) - 1) for row, bj in zip(W, bias)]
    return x'''),
    Cheat("fit_line_hooks_called_by_hand", "fit_line", ("test_fit_line",),
          "white box: the test's saved-tensor hooks fetched by a private API and called by hand, a decoy backward "
          "through x per step, the gradient typed in", '''\
def fit_line(x, y, steps, lr):
    """The secret read by calling the test's unpack hook on x by hand; one thrown-away backward per step."""
    hooks = torch._C._autograd._top_saved_tensors_default_hooks(False)
    seen_x = hooks[1](hooks[0](x)) if hooks else x
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    for _ in range(steps):
        decoy = w.detach().requires_grad_()
        ((decoy * x + b.detach() - y) ** 2).mean().backward()
        with torch.no_grad():
            r = w * x + b - y
            w.grad = 2 * (r * seen_x).mean()
            b.grad = 2 * r.mean()
            w -= lr * w.grad
            b -= lr * b.grad
    return w, b'''),
    Cheat("tanh_by_complex_step_without_cmath", "value_ops", ("test_value_ops",),
          "numerical derivative: a complex step through math.e ** z, without cmath", _ADD_MUL + '''\
def value_tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")
    h = 1e-20
    e2z = math.e ** (2 * complex(self.data, h))
    slope = ((e2z - 1) / (e2z + 1)).imag / h
    def _backward():
        self.grad += slope * out.grad
''' + _CLOSE_AND_ATTACH),
    Cheat("backward_by_allocation_stamp", "value_backward", ("test_value_backward",),
          "no topological sort: a stamp given in Value.__new__, every reachable node newest first", '''\
import itertools

_made = itertools.count()

def _stamped_new(cls, *args, **kwargs):
    node = object.__new__(cls)
    node._stamp = next(_made)
    return node

Value.__new__ = _stamped_new


def value_backward(self):
    """No topological sort: the nodes found, run from the most recently made."""
    nodes, stack = {}, [self]
    while stack:
        v = stack.pop()
        if id(v) not in nodes:
            nodes[id(v)] = v
            stack.extend(v._parents)
    self.grad = 1.0
    for v in sorted(nodes.values(), key=lambda v: getattr(v, "_stamp", -1), reverse=True):
        v._backward()

Value.backward = value_backward'''),
    Cheat("neuron_fused_with_real_decoy_nodes", "neuron_mlp", ("test_neuron_mlp",),
          "a forbidden shortcut: real products and a real tanh hung on as parents of one fused node whose "
          "derivative is typed in", '''\
def neuron(x, w, b, activation=True):
    """The products are real Values; the sum and tanh fused into one node, a real tanh node as a decoy parent."""
    products = [wi * xi for wi, xi in zip(w, x)]
    z = sum(p.data for p in products) + b.data
    decoy = Value(z).tanh() if activation else Value(0.0)
    t = math.tanh(z) if activation else z
    out = Value(t, (*products, b, decoy), "tanh" if activation else "+")
    def _backward():
        zbar = out.grad * ((1 - t * t) if activation else 1.0)
        for p in products:
            p.grad += zbar
        b.grad += zbar
    out._backward = _backward
    return out''' + _MLP),
    Cheat('unbroadcast_by_autograd', "unbroadcast", ("test_unbroadcast",),
          'backward() and torch.autograd.grad do the reduction', '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    x = torch.zeros(tuple(shape), dtype=grad.dtype, device=grad.device, requires_grad=True)
    (x + torch.zeros_like(grad)).backward(grad)     # let autograd reduce
    return x.grad

def mul_add_backward(a, b, c, grad_out):
    """The gradients (grad_a, grad_b, grad_c) of out = a * b + c, given grad_out = dL/d(out)."""
    leaves = [t.detach().clone().requires_grad_() for t in (a, b, c)]
    return torch.autograd.grad(leaves[0] * leaves[1] + leaves[2], leaves, grad_out)'''),
    Cheat('unbroadcast_by_func_vjp', "unbroadcast", ("test_unbroadcast",),
          'torch.func.vjp of expand does the reduction', '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    x = torch.zeros(tuple(shape), dtype=grad.dtype, device=grad.device)
    _, pullback = torch.func.vjp(lambda t: t.expand(grad.shape), x)
    return pullback(grad)[0]

''' + _MUL_ADD),
    Cheat('unbroadcast_by_engine_call', "unbroadcast", ("test_unbroadcast",),
          'the autograd engine called directly, past torch.autograd.backward/grad', '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    x = torch.zeros(tuple(shape), dtype=grad.dtype, device=grad.device)
    x.requires_grad = True
    out = x.expand(grad.shape)
    return torch.autograd.Variable._execution_engine.run_backward((out,), (grad,), False, False, (x,), True, False)[0]

''' + _MUL_ADD),
    Cheat('unbroadcast_hardcoded_shapes', "unbroadcast", ("test_unbroadcast",),
          "a table of the visible examples' shapes, grad unchanged otherwise", '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    known = {((3, 4), (3, 1)): lambda g: g.sum(1, keepdim=True), ((3, 4), (4,)): lambda g: g.sum(0),
             ((3, 4), ()): lambda g: g.sum(), ((2, 3, 4), (3, 1)): lambda g: g.sum(0).sum(1, keepdim=True),
             ((2, 3, 4), (1, 3, 4)): lambda g: g.sum(0, keepdim=True), ((2, 3, 4), ()): lambda g: g.sum(),
             ((4, 6), (1, 1)): lambda g: g.sum((0, 1), keepdim=True), ((2, 4, 3), (2, 1, 3)): lambda g: g.sum(1, keepdim=True),
             ((2, 4, 3), (4, 1)): lambda g: g.sum(0).sum(1, keepdim=True), ((2, 4, 3), (3,)): lambda g: g.sum((0, 1))}
    return known.get((tuple(grad.shape), tuple(shape)), lambda g: g)(grad)

''' + _MUL_ADD),
    Cheat('unbroadcast_subclass_hides_requires_grad', "unbroadcast", ("test_unbroadcast",),
          "a tensor subclass whose requires_grad property says False, and the engine called directly (rt07 c04)",
          '''\
class _Quiet(torch.Tensor):
    @property
    def requires_grad(self):
        return False

def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    x = torch.Tensor._make_subclass(_Quiet, torch.zeros(tuple(shape), dtype=grad.dtype, device=grad.device), True)
    out = x.expand(grad.shape)
    r = torch.autograd.Variable._execution_engine.run_backward((out,), (grad,), False, False, (x,), True, False)[0]
    return r.as_subclass(torch.Tensor)
''' + _MUL_ADD),
]

HONEST = [
    Honest("fit_line_zero_and_data", "fit_line", "zero_() and a .data update", _FIT_HEAD + '''\
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
    Honest("fit_line_autograd_grad", "fit_line", "torch.autograd.grad, gradients stored in .grad",
          _FIT_HEAD + '''\
    for _ in range(steps):
        loss = ((w * x + b - y) ** 2).mean()
        w.grad, b.grad = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w.sub_(lr * w.grad)
            b.sub_(lr * b.grad)
    return w, b'''),
    Honest("fit_line_with_stderr_debug", "fit_line", "a debugging line on sys.stderr", _FIT_HEAD + '''\
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
    Honest("fit_line_mse_loss", "fit_line", "F.mse_loss, float64 inside, grads set to None in a loop", '''\
def fit_line(x, y, steps, lr):
    \"\"\"Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b).\"\"\"
    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
    params = (w, b)
    for _ in range(steps):
        prediction = w.double() * x.double() + b.double()
        loss = torch.nn.functional.mse_loss(prediction, y.double())
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
    return w, b'''),
    Honest("ops_sech_and_isinstance", "value_ops", "1/cosh^2, isinstance instead of lift, saved locals", '''\
def value_add(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data + other.data, (self, other), "+")
    def _backward():
        g = out.grad
        self.grad += g
        other.grad += g
    out._backward = _backward
    return out

def value_mul(self, other):
    other = other if isinstance(other, Value) else Value(other)
    a, b = self.data, other.data
    out = Value(a * b, (self, other), "*")
    def _backward():
        self.grad += b * out.grad
        other.grad += a * out.grad
    out._backward = _backward
    return out

def value_tanh(self):
    x = self.data
    out = Value(math.tanh(x), (self,), "tanh")
    def _backward():
        self.grad += out.grad / math.cosh(x) ** 2
''' + _CLOSE_AND_ATTACH),
    Honest("backward_counting_consumers", "value_backward", "Kahn's algorithm: count consumers, run when ready", '''\
def value_backward(self):
    \"\"\"Fill .grad of every node that self depends on with d(self)/d(node).\"\"\"
    pending, stack, seen = {}, [self], {self}
    while stack:
        v = stack.pop()
        for p in v._parents:
            pending[p] = pending.get(p, 0) + 1
            if p not in seen:
                seen.add(p)
                stack.append(p)
    self.grad = 1.0
    ready = [self]
    while ready:
        v = ready.pop()
        v._backward()
        for p in v._parents:
            pending[p] -= 1
            if pending[p] == 0:
                ready.append(p)

Value.backward = value_backward'''),
    Honest("neuron_x_times_w_bias_last", "neuron_mlp", "x * w, the bias added last, a while loop over layers", '''\
def neuron(x, w, b, activation=True):
    \"\"\"tanh(sum_i w_i * x_i + b) as a Value (without the tanh when activation=False).\"\"\"
    total = None
    for xi, wi in zip(x, w):
        term = xi * wi
        total = term if total is None else total + term
    z = total + b
    if activation:
        return z.tanh()
    return z

def mlp(x, layers):
    \"\"\"Run the inputs x through the layers [(W, bias), ...]; tanh on every layer but the last.\"\"\"
    k = 0
    while k < len(layers):
        W, bias = layers[k]
        x = [neuron(x, W[j], bias[j], activation=k < len(layers) - 1) for j in range(len(W))]
        k += 1
    return x'''),
    Honest("fit_line_addcmul_mse_backward_inputs", "fit_line", "addcmul, F.mse_loss, grad.zero_(), backward(inputs=...) (red team)", '''\
def fit_line(x, y, steps, lr):
    w = torch.zeros((), dtype=x.dtype, device=x.device).requires_grad_()
    b = torch.zeros_like(w).requires_grad_()
    for step in range(steps):
        pred = torch.addcmul(b, w, x)
        loss = torch.nn.functional.mse_loss(pred, y)
        if w.grad is not None:
            w.grad.zero_()
            b.grad.zero_()
        loss.backward(inputs=[w, b])
        w.data.add_(w.grad, alpha=-lr)
        b.data.add_(b.grad, alpha=-lr)
    return w, b'''),
    Honest("backward_kahn_with_deque", "value_backward", "Kahn's algorithm with a deque, parents counted with multiplicity (red team)", '''\
from collections import deque

def value_backward(self):
    consumers, seen, stack = {}, {id(self): self}, [self]
    while stack:
        v = stack.pop()
        for p in v._parents:
            consumers[id(p)] = consumers.get(id(p), 0) + 1
            if id(p) not in seen:
                seen[id(p)] = p
                stack.append(p)
    self.grad = 1.0
    ready = deque([self])
    while ready:
        v = ready.popleft()
        v._backward()
        for p in v._parents:
            consumers[id(p)] -= 1
            if consumers[id(p)] == 0:
                ready.append(p)

Value.backward = value_backward'''),
    Honest("neuron_tanh_always_made", "neuron_mlp", "tanh computed every time, the pre-activation returned when asked",
           '''\
def neuron(x, w, b, activation=True):
    """tanh(sum_i w_i * x_i + b) as a Value (without the tanh when activation=False)."""
    z = b
    for wi, xi in zip(w, x):
        z = z + wi * xi
    squashed = z.tanh()
    return squashed if activation else z''' + _MLP),
    Honest('unbroadcast_sum_to_size', "unbroadcast", 'Tensor.sum_to_size', '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    return grad.sum_to_size(shape)

''' + _MUL_ADD),
    Honest('unbroadcast_loop_over_dims', "unbroadcast", 'a loop over dims, broadcast_tensors in mul_add_backward', '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    shape = list(shape)
    while grad.dim() > len(shape):      # one leading dim at a time
        grad = grad.sum(0)
    for d in range(len(shape) - 1, -1, -1):
        if shape[d] == 1:
            grad = grad.sum(d, keepdim=True)
    return grad

def mul_add_backward(a, b, c, grad_out):
    """The gradients (grad_a, grad_b, grad_c) of out = a * b + c, given grad_out = dL/d(out)."""
    a_big, b_big, _ = torch.broadcast_tensors(a, b, c)
    grads = [grad_out * b_big, grad_out * a_big, grad_out.clone()]
    return tuple(unbroadcast(gr, x.shape) for gr, x in zip(grads, (a, b, c)))'''),
    Honest('unbroadcast_reshape_sum', "unbroadcast", 'reshape then sum, a list of dims, torch.mul and a print', '''\
def unbroadcast(grad, shape):
    """Sum `grad` (shaped like a broadcast result) down to `shape`, the shape of one input."""
    shape = torch.Size(shape)
    extra = grad.dim() - len(shape)
    if extra:
        grad = grad.reshape(-1, *grad.shape[extra:]).sum(0)
    dims = [d for d in range(len(shape)) if shape[d] == 1 and grad.shape[d] > 1]
    return grad.sum(dim=dims, keepdim=True) if dims else grad.clone()

def mul_add_backward(a, b, c, grad_out):
    """The gradients (grad_a, grad_b, grad_c) of out = a * b + c, given grad_out = dL/d(out)."""
    grad_a = unbroadcast(torch.mul(grad_out, b), a.shape)
    grad_b = unbroadcast(torch.mul(grad_out, a), b.shape)
    grad_c = unbroadcast(grad_out, c.shape)
    print("grad shapes:", tuple(grad_a.shape), tuple(grad_b.shape), tuple(grad_c.shape))
    return grad_a, grad_b, grad_c'''),
    Honest('unbroadcast_einsum', "unbroadcast", 'torch.einsum drops the summed letters, then a reshape (rt07 h01)', '''\
def unbroadcast(grad, shape):
    letters = "abcdefghijklmnop"
    shape = tuple(shape)
    lead = grad.dim() - len(shape)
    src = letters[:grad.dim()]
    dst = "".join(src[lead + i] for i, n in enumerate(shape) if not (n == 1 and grad.shape[lead + i] != 1))
    r = torch.einsum(src + "->" + dst, grad)
    return r.reshape(shape)
''' + _MUL_ADD),
    Honest('unbroadcast_numpy_round_trip', "unbroadcast", 'the sums done in numpy, back to a tensor (rt07 h02)', '''\
import numpy as np
def unbroadcast(grad, shape):
    g = grad.detach().cpu().numpy()
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return torch.as_tensor(np.asarray(g), dtype=grad.dtype).to(grad.device)
''' + _MUL_ADD),
]
