"""07_capstone: typical mistakes and what the visible tests must say about each (see the package's docstring)."""

from . import Mistake

# ---- Exercise 1: fit_line -------------------------------------------------------------------------------

def _fit_line(clear_before="w.grad = None\n        b.grad = None", loss="((w * x + b - y) ** 2).mean()",
              update="with torch.no_grad():\n            w -= lr * w.grad\n            b -= lr * b.grad",
              after="", start="requires_grad=True"):
    return f'''\
def fit_line(x, y, steps, lr):
    w = torch.zeros((), dtype=x.dtype, device=x.device, {start})
    b = torch.zeros((), dtype=x.dtype, device=x.device, {start})
    for _ in range(steps):
        loss = {loss}
        {clear_before}
        loss.backward(){after}
        {update}
    return w, b'''


def _fit(name, code, says, cause):
    return Mistake(name, "fit_line", "test_fit_line", code, says, cause)


FIT_LINE = [
    _fit("forgets_to_clear_grad", _fit_line(clear_before="pass"), ("not cleared", "before each backward()"),
         "never clears .grad, so each step uses the sum of all gradients so far"),
    _fit("zeroes_between_backward_and_update",
         _fit_line(clear_before="pass", after="\n        w.grad.zero_()\n        b.grad.zero_()"),
         ("cleared after backward()",), "zeroes .grad between backward() and the update"),
    _fit("sets_none_between_backward_and_update",
         _fit_line(clear_before="pass", after="\n        w.grad = None\n        b.grad = None"),
         ("None", "before backward()"), "sets .grad to None between backward() and the update"),
    _fit("clears_after_the_update",
         _fit_line(clear_before="pass",
                   update="with torch.no_grad():\n            w -= lr * w.grad\n            b -= lr * b.grad\n"
                          "        w.grad = None\n        b.grad = None"),
         ("last step's gradient",), "clears .grad after the update, so nothing is left on return"),
    _fit("zero_before_first_backward", _fit_line(clear_before="w.grad.zero_()\n        b.grad.zero_()"),
         ("is not None",), "calls w.grad.zero_() before the first backward(), when .grad is None"),
    _fit("update_outside_no_grad", _fit_line(update="w -= lr * w.grad\n        b -= lr * b.grad"),
         ("torch.no_grad()",), "updates a leaf in place with autograd on"),
    _fit("out_of_place_update_under_no_grad",
         _fit_line(update="with torch.no_grad():\n            w = w - lr * w.grad\n            b = b - lr * b.grad"),
         ("update them in place", "`w = w - lr * w.grad` under no_grad"), "w = w - lr * w.grad under no_grad: a new tensor without requires_grad"),
    _fit("out_of_place_update_with_grad",
         _fit_line(update="w = w - lr * w.grad\n        b = b - lr * b.grad"),
         ("non-leaf", "update them in place"), "w = w - lr * w.grad with autograd on: w is no longer a leaf"),
    _fit("sum_instead_of_mean", _fit_line(loss="((w * x + b - y) ** 2).sum()"), ("mean", "not their sum"),
         "the loss is the sum of squared errors, not their mean"),
    _fit("half_mse", _fit_line(loss="((w * x + b - y) ** 2).mean() / 2"), ("factor 1/2",),
         "the loss has an extra factor 1/2"),
    _fit("loss_as_python_number", _fit_line(loss="((w * x + b - y) ** 2).mean().item()"),
         ("python number", ".item()"), "the loss is turned into a float with .item() before backward()"),
    _fit("forgets_requires_grad", _fit_line(start="requires_grad=False"), ("requires_grad=True",),
         "w and b are created without requires_grad"),
    _fit("gradient_ascent",
         _fit_line(update="with torch.no_grad():\n            w += lr * w.grad\n            b += lr * b.grad"),
         ("up the gradient",), "adds the gradient instead of subtracting it"),
]

# ---- Exercise 2: value_add, value_mul, value_tanh -------------------------------------------------------

_ADD = '''\
def value_add(self, other):
    other = Value.lift(other)
    out = Value(self.data + other.data, (self, other), "+")
    def _backward():
        self.grad += out.grad
        other.grad += out.grad
    out._backward = _backward
    return out
'''
_MUL = '''\
def value_mul(self, other):
    other = Value.lift(other)
    out = Value(self.data * other.data, (self, other), "*")
    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad
    out._backward = _backward
    return out
'''
_TANH = '''\
def value_tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")
    def _backward():
        self.grad += (1.0 - t * t) * out.grad
    out._backward = _backward
    return out
'''
_ATTACH = '''
Value.__add__ = value_add
Value.__mul__ = value_mul
Value.tanh = value_tanh'''


def _ops(add=_ADD, mul=_MUL, tanh=_TANH):
    return f"{add}\n{mul}\n{tanh}{_ATTACH}"


def _op(name, code, says, cause):
    return Mistake(name, "value_ops", "test_value_ops", code, says, cause)


VALUE_OPS = [
    _op("assigns_in_mul_closure", _ops(mul=_MUL.replace("self.grad +=", "self.grad =").replace("other.grad +=",
                                                                                            "other.grad =")),
        ("`=` instead of `+=`", "both inputs"), "`=` instead of `+=` in the product's closure (a node used twice)"),
    _op("assigns_in_add_closure", _ops(add=_ADD.replace("self.grad +=", "self.grad =").replace("other.grad +=",
                                                                                            "other.grad =")),
        ("`=` instead of `+=`",), "`=` instead of `+=` in the sum's closure"),
    _op("assigns_in_tanh_closure", _ops(tanh=_TANH.replace("self.grad +=", "self.grad =")),
        ("`=` instead of `+=`",), "`=` instead of `+=` in tanh's closure"),
    _op("mul_gives_each_input_its_own_value",
        _ops(mul=_MUL.replace("other.data * out.grad", "SELF").replace("self.data * out.grad", "other.data * out.grad")
             .replace("SELF", "self.data * out.grad")),
        ("own value", "other.data"), "the product's closure gives each input its own value, not the other's"),
    _op("ignores_out_grad", _ops(mul=_MUL.replace(" * out.grad", "")),
        ("ignores out.grad", "chain rule"), "the closure forgets to multiply by out.grad"),
    _op("reads_out_grad_too_early",
        _ops(mul=_MUL.replace("    def _backward():", "    upstream = out.grad\n    def _backward():")
             .replace("* out.grad", "* upstream")),
        ("read out.grad inside the closure",), "reads out.grad when the operation runs (0), not when the closure runs"),
    _op("forgets_to_attach_closure", _ops(mul=_MUL.replace("    out._backward = _backward\n", "")),
        ("out._backward = _backward",), "defines the closure but never sets out._backward"),
    _op("no_lift_of_plain_numbers", _ops(add=_ADD.replace("    other = Value.lift(other)\n", "")),
        ("Value.lift",), "does not wrap plain numbers with Value.lift"),
    _op("tanh_uses_the_input", _ops(tanh=_TANH.replace("(1.0 - t * t)", "(1.0 - self.data ** 2)")),
        ("input", "output"), "tanh's derivative written with the input x instead of the output t"),
]

# ---- Exercise 3: Value.backward -------------------------------------------------------------------------

_DFS = '''\
    order, seen = [], set()
    def visit(v):
        if v not in seen:
            seen.add(v)
            for p in v._parents:
                visit(p)
            order.append(v)
    visit(self)
'''


def _backward(body):
    return f"def value_backward(self):\n{body}\nValue.backward = value_backward"


def _bw(name, body, says, cause):
    return Mistake(name, "value_backward", "test_value_backward", _backward(body), says, cause)


VALUE_BACKWARD = [
    _bw("forgets_to_seed", _DFS + "    for v in reversed(order):\n        v._backward()\n",
        ("seed the output's gradient with 1",), "never sets the root's .grad to 1"),
    _bw("seeds_after_the_closures", _DFS + "    for v in reversed(order):\n        v._backward()\n    self.grad = 1.0\n",
        ("seed the output's gradient with 1", "before"), "sets root.grad = 1 after running the closures"),
    _bw("breadth_first", '''\
    self.grad = 1.0
    queue, seen = [self], {self}
    while queue:
        v = queue.pop(0)
        v._backward()
        for p in v._parents:
            if p not in seen:
                seen.add(p)
                queue.append(p)
''', ("before all of its consumers", "breadth-first"), "visits nodes breadth-first from the root"),
    _bw("no_visited_set", '''\
    order = []
    def visit(v):
        for p in v._parents:
            visit(p)
        order.append(v)
    visit(self)
    self.grad = 1.0
    for v in reversed(order):
        v._backward()
''', ("more than once", "visited"), "recursion without a visited set: a node reached twice runs twice"),
    _bw("not_reversed", _DFS + "    self.grad = 1.0\n    for v in order:\n        v._backward()\n",
        ("reverse topological order",), "runs the closures in topological order, root last"),
    _bw("preorder_not_a_topological_order", '''\
    order, seen = [], set()
    def visit(v):
        if v not in seen:
            seen.add(v)
            order.append(v)
            for p in v._parents:
                visit(p)
    visit(self)
    self.grad = 1.0
    for v in order:
        v._backward()
''', ("before all of its consumers", "reverse topological order"),
        "appends a node before its parents (pre-order), which is not a topological order"),
    _bw("only_the_root", "    self.grad = 1.0\n    self._backward()\n",
        ("never ran", "every node reachable"), "runs only the root's closure"),
]

# ---- Exercise 4: neuron and mlp -------------------------------------------------------------------------

_NEURON = '''\
def neuron(x, w, b, activation=True):
    z = b
    for wi, xi in zip(w, x):
        z = z + wi * xi
    return z.tanh() if activation else z
'''
_MLP = '''\
def mlp(x, layers):
    for k, (W, bias) in enumerate(layers):
        last = k == len(layers) - 1
        x = [neuron(x, row, bj, activation=not last) for row, bj in zip(W, bias)]
    return x'''


def _net(name, code, says, cause):
    return Mistake(name, "neuron_mlp", "test_neuron_mlp", code, says, cause)


NEURON_MLP = [
    _net("last_layer_with_tanh", _NEURON + "\n" + _MLP.replace("activation=not last", "activation=True"),
         ("last layer is linear",), "applies tanh on the last layer too"),
    _net("hidden_layers_linear", _NEURON + "\n" + _MLP.replace("activation=not last", "activation=False"),
         ("hidden layers linear",), "no tanh on the hidden layers"),
    _net("forgets_the_bias", _NEURON.replace("z = b\n", "z = 0\n") + "\n" + _MLP,
         ("bias is missing",), "leaves out the bias"),
    _net("ignores_activation_flag", _NEURON.replace("z.tanh() if activation else z", "z.tanh()") + "\n" + _MLP,
         ("activation=False",), "applies tanh whatever activation says"),
    _net("never_applies_tanh", _NEURON.replace("z.tanh() if activation else z", "z") + "\n" + _MLP,
         ("apply .tanh()",), "never applies tanh in the neuron"),
    _net("data_cuts_the_graph", '''\
def neuron(x, w, b, activation=True):
    z = b.data
    for wi, xi in zip(w, x):
        z += wi.data * (xi.data if isinstance(xi, Value) else xi)
    return Value(math.tanh(z) if activation else z)
''' + "\n" + _MLP, ("not connected", ".data"), "computes with .data and wraps the number in a new Value"),
    _net("feeds_every_layer_the_inputs", _NEURON + '''
def mlp(x, layers):
    outputs = x
    for k, (W, bias) in enumerate(layers):
        last = k == len(layers) - 1
        outputs = [neuron(x, row, bj, activation=not last) for row, bj in zip(W, bias)]
    return outputs''', ("previous layer's outputs",), "gives every layer the network's inputs"),
    _net("returns_a_value_for_one_unit", _NEURON + "\n" + _MLP.replace("    return x", "    return x[0] if len(x) == 1 else x"),
         ("a list",), "returns a bare Value when the last layer has one unit"),
]

MISTAKES = [*FIT_LINE, *VALUE_OPS, *VALUE_BACKWARD, *NEURON_MLP]
