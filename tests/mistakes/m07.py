"""07_capstone: typical mistakes and what the visible tests must say about each (see the package's docstring)."""

from cheats.a07 import TOPO_ORDER as _DFS

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


_ZEROS = ("    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)\n"
          "    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)\n")
_LOSS = "((w * x + b - y) ** 2).mean()"
_LOSS_ONCE = _fit_line().replace(f"    for _ in range(steps):\n        loss = {_LOSS}\n",
                                 f"    loss = {_LOSS}\n    for _ in range(steps):\n")


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
    # the independent red team's (issue 12), and the classes of wrong runs the test now recognises by their numbers
    _fit("loop_runs_steps_minus_one", _fit_line().replace("range(steps)", "range(steps - 1)"),
         ("not one step ran", "range(steps)"), "runs steps - 1 steps (none at all for steps=1)"),
    _fit("loop_runs_one_step_too_many", _fit_line().replace("range(steps)", "range(steps + 1)"),
         ("the loop ran 2 times, not 1",), "runs steps + 1 steps"),
    _fit("return_inside_the_loop", _fit_line().replace("    return w, b", "        return w, b"),
         ("the loop ran 1 times, not 3", "return after the loop"), "returns inside the loop, after the first step"),
    _fit("loss_once_before_the_loop_retained", _LOSS_ONCE.replace("loss.backward()", "loss.backward(retain_graph=True)"),
         ("gradient at the start", "inside the loop"),
         "computes the loss once before the loop and backpropagates that old graph every step (retain_graph=True)"),
    _fit("loss_once_before_the_loop", _LOSS_ONCE, ("same graph twice", "inside the loop"),
         "computes the loss once before the loop: the second backward() meets a freed graph"),
    _fit("backward_twice_per_step", _fit_line(after="\n        loss.backward()").replace(
        "loss.backward()\n        loss.backward()", "loss.backward(retain_graph=True)\n        loss.backward()"),
         ("2 times", "backward() ran 2 times"), "calls backward() twice per step, so .grad is doubled"),
    _fit("lr_applied_twice",
         _fit_line(update="with torch.no_grad():\n            w -= lr * lr * w.grad\n            b -= lr * lr * b.grad"),
         ("0.01 times the gradient", "lr * w.grad"), "steps by lr * lr * grad"),
    _fit("clears_only_w", _fit_line(clear_before="w.grad = None"), ("b.grad is the sum", "not cleared"),
         "clears w.grad but never b.grad"),
    _fit("returns_b_then_w", _fit_line().replace("return w, b", "return b, w"), ("returned (b, w)",),
         "returns the parameters in the wrong order"),
    _fit("autograd_grad_not_stored", _fit_line(
        clear_before="gw, gb = torch.autograd.grad(loss, (w, b))",
        update="with torch.no_grad():\n            w -= lr * gw\n            b -= lr * gb").replace(
        "        loss.backward()\n", ""), ("torch.autograd.grad", "does not fill .grad"),
         "takes the gradients from torch.autograd.grad and never stores them in .grad"),
    _fit("backward_again_after_the_loop", _fit_line().replace(
        "    return w, b", "    w.grad = None\n    b.grad = None\n    ((w * x + b - y) ** 2).mean().backward()\n    return w, b"),
         ("gradient at the returned w, b",), "calls backward() once more after the loop, at the final w, b"),
    _fit("square_of_the_mean", _fit_line(loss="((w * x + b - y).mean()) ** 2"),
         ("only the start and the loss can be at fault", "square inside the mean"), "squares the mean residual instead of averaging squares"),
    _fit("loss_under_no_grad", _fit_line(loss="((w * x + b - y) ** 2).mean()").replace(
        "        loss = ", "        with torch.no_grad():\n            loss = "), ("not under torch.no_grad()",),
         "computes the loss under torch.no_grad()"),
    _fit("parameters_of_shape_1", _fit_line().replace("torch.zeros((),", "torch.zeros(1,"), ("0-dim", "torch.zeros(())"),
         "creates w and b with torch.zeros(1), shape (1,)"),
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


def _doc(code, doc):
    """The function's source with a docstring under its def line."""
    head, body = code.split("\n", 1)
    return f'''{head}\n    """{doc}"""\n{body}'''


def _ops(add=_ADD, mul=_MUL, tanh=_TANH):
    return f"{add}\n{mul}\n{tanh}{_ATTACH}"


# the three operations with docstrings, as the solution writes them
_OPS_DOC = (_doc(_ADD, "self + other, for other a Value or a plain number.") + "\n"
            + _doc(_MUL, "self * other, for other a Value or a plain number.") + "\n"
            + _doc(_TANH, "tanh(self).") + _ATTACH)


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
    _op("mul_closure_reads_grad_not_data", _ops(mul=_MUL.replace("self.grad += other.data", "self.grad += other.grad")),
        ("reads other.grad", "where other.data is meant"), "the product's closure uses other.grad where other.data is meant"),
    _op("add_closure_adds_one", _ops(add=_ADD.replace("+= out.grad", "+= 1.0")), ("adds 1 whatever out.grad is",),
        "the sum's closure adds 1 instead of out.grad"),
    _op("add_closure_subtracts", _ops(add=_ADD.replace("other.grad += out.grad", "other.grad -= out.grad")),
        ("sign is wrong",), "the sum's closure subtracts for the second input"),
    _op("mul_parents_swapped", _ops(mul=_MUL.replace("(self, other), \"*\"", "(other, self), \"*\"")),
        ("out._parents must be (self, other)",), "the product records its parents in the wrong order"),
    _op("mul_forgets_return", _ops(mul=_MUL.replace("    return out\n", "")), ("returned none", "return out"),
        "the product never returns out"),
    _op("mul_computes_the_sum", _ops(mul=_MUL.replace("self.data * other.data", "self.data + other.data")),
        ("self.data * other.data",), "the product's value is computed with +"),
    _op("tanh_sigmoid_derivative", _ops(tanh=_TANH.replace("(1.0 - t * t)", "t * (1.0 - t)")),
        ("sigmoid's derivative",), "tanh's closure uses the sigmoid's derivative t (1 - t)"),
    _op("tanh_applied_twice", _ops(tanh=_TANH.replace("(1.0 - t * t)", "(1.0 - math.tanh(t) ** 2)")),
        ("tanh applied twice",), "tanh's closure takes tanh of the output again"),
    _op("wraps_values_again", _ops(mul=_MUL.replace("Value.lift(other)", "Value(other)")),
        ("wrapped again", "value.lift"), "wraps other in Value(...) even when it is a Value already"),
]

# ---- Exercise 3: Value.backward -------------------------------------------------------------------------


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
    _bw("recursive_without_an_order", '''\
    def run(v):
        v._backward()
        for p in v._parents:
            run(p)
    self.grad = 1.0
    run(self)
''', ("did not run in reverse topological order", "a visited set alone would not fix it"),
        "runs a node's closure, then recurses into each parent at once: no topological order"),
    _bw("preorder_reversed", _DFS.replace("            for p in v._parents:\n                visit(p)\n            order.append(v)",
                                          "            order.append(v)\n            for p in v._parents:\n                visit(p)")
        + "    self.grad = 1.0\n    for v in reversed(order):\n        v._backward()\n",
        ("root's closure ran last", "reverse topological order"), "appends a node before its parents, then reverses"),
    _bw("skips_the_root", _DFS + "    self.grad = 1.0\n    for v in reversed(order[:-1]):\n        v._backward()\n",
        ("never ran",), "leaves the root out of the closures it calls"),
    _bw("sorted_by_value", _DFS + "    self.grad = 1.0\n    for v in sorted(order, key=lambda v: -v.data):\n        v._backward()\n",
        ("before all of its consumers",), "runs the closures sorted by value, not in reverse topological order"),
    _bw("closures_named_not_called", _DFS + "    self.grad = 1.0\n    for v in reversed(order):\n        v._backward\n",
        ("no node's _backward at all", "parentheses"), "writes v._backward without the parentheses"),
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
    _net("data_between_layers", _NEURON + "\n" + _MLP.replace(
        "activation=not last) for row, bj in zip(W, bias)]\n",
        "activation=not last) for row, bj in zip(W, bias)]\n        if not last:\n            x = [o.data for o in x]\n"),
         ("no gradient reached layer", "next layer"), "turns each hidden layer's outputs into floats before the next layer"),
    _net("outputs_rewrapped", _NEURON + "\n" + _MLP.replace("    return x", "    return [Value(o.data) for o in x]"),
         ("no weight or bias received a gradient",), "wraps the outputs' numbers in new Values"),
    _net("returns_numbers", _NEURON + "\n" + _MLP.replace("    return x", "    return [o.data for o in x]"),
         ("must hold values",), "returns the outputs' numbers, not the Values"),
    _net("wraps_inputs_in_value", _NEURON.replace("wi * xi", "wi * Value(xi)") + "\n" + _MLP,
         ("use them as they are",), "wraps every input in Value(...), which fails on the previous layer's Values"),
    _net("bias_copied", _NEURON.replace("z = b\n", "z = Value(b.data)\n") + "\n" + _MLP,
         ("b.grad is 0", "value b itself"), "starts the sum from a copy of the bias"),
    _net("columns_of_W", _NEURON + "\n" + _MLP.replace("zip(W, bias)", "zip(zip(*W), bias)"),
         ("row W[j]",), "takes the columns of W as the units' weights"),
]

# the second independent round of mistakes (issue 12, round 2): the visible tests verify the cause they name
ROUND_2 = [
    Mistake("w_b_aliased", "fit_line", "test_fit_line", _fit_line().replace(_ZEROS, '''\
    """Fit y ~ w * x + b by `steps` steps of gradient descent on the MSE; return the leaves (w, b)."""
    w = b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
'''),
            ('one tensor under two names',),
            'chained assignment w = b = torch.zeros(...): one tensor under two names'),
    Mistake("parameters_outside_function", "fit_line", "test_fit_line", '''\
w = torch.zeros((), requires_grad=True)
b = torch.zeros((), requires_grad=True)


''' + _fit_line(update="with torch.no_grad():\n            w.sub_(lr * w.grad)\n            b.sub_(lr * b.grad)").replace(
                _ZEROS, ""),
            ('an earlier call had returned', 'inside fit_line'),
            'creates w, b once at module level (updated with sub_): state is not reset between calls'),
    Mistake("tanh_precedence", "value_ops", "test_value_ops",
            _OPS_DOC.replace("(1.0 - t * t) * out.grad", "1.0 - t * t * out.grad"),
            ('parentheses are missing', '(1 - t * t) * out.grad'),
            "drops the parentheses in tanh's closure: 1 - t*t*out.grad"),
    Mistake("tanh_of_value_not_data", "value_ops", "test_value_ops",
            _OPS_DOC.replace("math.tanh(self.data)", "math.tanh(self)"),
            ('a math function was given a value', 'math.tanh(self.data)'),
            'math.tanh(self) on the Value instead of self.data'),
    Mistake("backward_uses_prev", "value_backward", "test_value_backward", '''\
def value_backward(self):
    """Fill .grad of every node that self depends on with d(self)/d(node)."""
''' + _DFS.replace("v._parents", "v._prev") + '''\
    self.grad = 1.0
    for v in reversed(order):
        v._backward()

Value.backward = value_backward''',
            ('v._parents', '_prev'),
            "walks v._prev (micrograd's name) instead of v._parents"),
    Mistake("neuron_sum_reset_each_term", "neuron_mlp", "test_neuron_mlp", '''\
def neuron(x, w, b, activation=True):
    """tanh(sum_i w_i * x_i + b) as a Value (without the tanh when activation=False)."""
    z = b
    for wi, xi in zip(w, x):
        z = b + wi * xi
    return z.tanh() if activation else z

def mlp(x, layers):
    """Run the inputs x through the layers [(W, bias), ...]; tanh on every layer but the last."""
    for k, (W, bias) in enumerate(layers):
        last = k == len(layers) - 1
        x = [neuron(x, row, bj, activation=not last) for row, bj in zip(W, bias)]
    return x''',
            ('only the last term', 'restarts', 'z = z + wi * xi'),
            'restarts the sum from b at each term (stale accumulator): only the last w_i x_i survives'),
]

# the third independent round (issue 12, round 3): each message verifies the cause it names
ROUND_3 = [
    _fit("b_updated_with_w_grad", _fit_line().replace("b -= lr * b.grad", "b -= lr * w.grad"),
         ("b by lr * w.grad", "other parameter's gradient"), "copy-paste slip: updates b with w.grad"),
    _fit("update_rebuilds_leaf", _fit_line(
        update="w = (w - lr * w.grad).detach().requires_grad_(True)\n"
               "        b = (b - lr * b.grad).detach().requires_grad_(True)"),
         ("never updated in place", "made after backward()"),
         "re-makes fresh leaves with .detach().requires_grad_(True) after each step: new tensors, .grad None"),
    _op("mul_closure_uses_out_data", _ops(mul=_MUL.replace("* out.grad", "* out.data")),
        ("multiplies by out.data", "where out.grad is meant"), "the product's closure multiplies by out.data, not out.grad"),
    _op("attaches_closure_result", _ops(mul=_MUL.replace("out._backward = _backward", "out._backward = _backward()")),
        ("_backward()", "assign the function itself"),
        "out._backward = _backward(): calls the closure at once and stores None"),
    _bw("calls_backward_not_closure", _DFS + "    self.grad = 1.0\n    for v in reversed(order):\n        v.backward()\n",
        ("called itself", "not `v.backward()`"), "calls v.backward() in the loop instead of v._backward()"),
    _net("bias_inside_the_loop", _NEURON.replace("z = b\n", "z = 0.0\n").replace("z + wi * xi", "z + wi * xi + b")
         + "\n" + _MLP, ("bias was added 2 times", "inside the loop"), "adds the bias inside the sum loop, once per input"),
]

# the fourth independent round (issue 12, round 4): each message verifies the cause it names
ROUND_4 = [
    _fit("fit_returns_detached", _fit_line().replace("    return w, b", "    return w.detach(), b.detach()"),
         ("own w and b still had requires_grad=True", "a detached copy", "return w and b themselves"),
         "returns w.detach(), b.detach(): copies without autograd, not the trained leaves"),
    _fit("fit_unpacks_one_tensor", _fit_line().replace(
        "    w = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)\n"
        "    b = torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)",
        "    w, b = torch.zeros(2, dtype=x.dtype, device=x.device, requires_grad=True)"),
         ("view of one tensor of shape (2,)", "unpacks one leaf into two views"),
         "w, b = torch.zeros(2, requires_grad=True): two views (non-leaves) of one leaf"),
    _bw("reverse_returns_none", _DFS + "    self.grad = 1.0\n    for v in order.reverse():\n        v._backward()\n",
        ("loops over none", ".reverse()", "reversed(order)"),
        "for v in order.reverse(): list.reverse() works in place and returns None"),
    _fit("fit_line_float32_whatever_x", _fit_line().replace(
        "torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)", "torch.tensor(0.0, requires_grad=True)"),
         ("float64 x and y", "dtype=x.dtype"), "w, b = torch.tensor(0.0, requires_grad=True): float32 whatever x is"),
]


# ---- Exercise 5: unbroadcast and mul_add_backward (broadcasting in backward) ------------------------------

def _unb(name, code, says, cause):
    return Mistake(name, "unbroadcast", "test_unbroadcast", code, says, cause)


# the solution's unbroadcast: its leading-dims part, all of it up to its return value (rt07 adds what comes after);
# an unbroadcast that tests any size-1 dim; the solution's mul_add_backward
_UNB_LEAD = '''\
def unbroadcast(grad, shape):
    shape = tuple(shape)
    lead = grad.dim() - len(shape)
    if lead > 0:
        grad = grad.sum(dim=tuple(range(lead)))
'''
_UNB_KEEPDIM = _UNB_LEAD + '''\
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(dim=ones, keepdim=True)
    return grad'''
_UNB_ANY = _UNB_LEAD + "    if any(n == 1 and grad.shape[i] != 1 for i, n in enumerate(shape)):\n"

_UNB_RIGHT = '''

def mul_add_backward(a, b, c, grad_out):
    return (unbroadcast(grad_out * b, a.shape), unbroadcast(grad_out * a, b.shape), unbroadcast(grad_out, c.shape))'''

# unbroadcast by sum_to_size, mul_add_backward begun
_SUM_TO_SIZE = '''\
def unbroadcast(grad, shape):
    return grad.sum_to_size(shape)

def mul_add_backward(a, b, c, grad_out):
'''


def _unb_loop(lead: str, each: str = "grad.sum(i, keepdim=True)") -> str:
    """unbroadcast: `lead` for the leading dims, then `each` on every size-1 dim; the solution's mul_add_backward."""
    return f'''\
def unbroadcast(grad, shape):
{lead}    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = {each}
    return grad''' + _UNB_RIGHT


UNBROADCAST = [
    _unb('unbroadcast_only_leading_dims', '''\
def unbroadcast(grad, shape):
    lead = grad.dim() - len(shape)
    for _ in range(lead):
        grad = grad.sum(0)
    return grad''' + _UNB_RIGHT,
         ('size 1', 'keepdim=True'),
         'sums only the leading dims, not the dims where the input has size 1'),
    _unb('unbroadcast_no_keepdim', '''\
def unbroadcast(grad, shape):
    lead = grad.dim() - len(shape)
    for _ in range(lead):
        grad = grad.sum(0)
    for i in reversed(range(len(shape))):
        if shape[i] == 1 and grad.shape[i] != 1:
            grad = grad.sum(i)
    return grad''' + _UNB_RIGHT,
         ('without keepdim=True',),
         'sums the size-1 dims without keepdim=True, so they disappear'),
    _unb('unbroadcast_mean_not_sum', _unb_loop("    lead = grad.dim() - len(shape)\n"
                                               "    for _ in range(lead):\n"
                                               "        grad = grad.mean(0)\n", "grad.mean(i, keepdim=True)"),
         ('mean', 'where a sum is meant'),
         'averages (mean) over the broadcast dims instead of summing'),
    _unb('unbroadcast_sum_over_empty_dims', _unb_loop("    lead = grad.dim() - len(shape)\n"
                                                      "    grad = grad.sum(dim=tuple(range(lead)))\n"),
         ('empty tuple of dims', 'every dim'),
         'grad.sum(dim=tuple(range(lead))) with lead == 0: an empty dim tuple sums everything'),
    _unb('unbroadcast_returns_grad', '''\
def unbroadcast(grad, shape):
    return grad''' + _UNB_RIGHT,
         ('returned grad unchanged',),
         "returns grad as it is, with the output's shape"),
    _unb('unbroadcast_left_aligned', _unb_loop("    for i in reversed(range(len(shape), grad.dim())):\n"
                                               "        grad = grad.sum(i)\n"),
         ('matched from the right',),
         "aligns the input's dims from the left and sums the trailing dims"),
    _unb('mul_add_swapped_factors', _SUM_TO_SIZE + '''\
    return (unbroadcast(grad_out * a, a.shape), unbroadcast(grad_out * b, b.shape), unbroadcast(grad_out, c.shape))''',
         ('the other factor',),
         'multiplies grad_out by the input itself instead of by the other factor'),
    _unb('mul_add_not_reduced', _SUM_TO_SIZE + '''\
    return grad_out * b, grad_out * a, grad_out''',
         ("output's shape", 'unbroadcast'),
         "returns the output-shaped terms, not reduced to the inputs' shapes"),
    _unb('mul_add_forgets_grad_out', _SUM_TO_SIZE + '''\
    return (unbroadcast(b.expand(grad_out.shape), a.shape), unbroadcast(a.expand(grad_out.shape), b.shape), unbroadcast(grad_out, c.shape))''',
         ('leaves out grad_out',),
         'uses the local derivative alone, without grad_out'),
    # red team of the capstone (rt07): each message names only what was checked
    _unb('unbroadcast_squeeze_after_keepdim_sum', _UNB_KEEPDIM + '.squeeze()' + _UNB_RIGHT,
         ('right values', 'size-1 dims are gone', '`squeeze`'),
         'sums with keepdim=True, then squeezes the size-1 dims away'),
    _unb('unbroadcast_flatten_after_keepdim_sum', _UNB_KEEPDIM + '.flatten()' + _UNB_RIGHT,
         ('right values', 'size-1 dims are gone', '`flatten`'),
         'sums with keepdim=True, then flattens the result'),
    _unb('unbroadcast_sums_every_dim_with_tuple', _UNB_ANY + '''\
        grad = grad.sum(dim=tuple(range(grad.dim())), keepdim=True)
    return grad''' + _UNB_RIGHT,
         ('summed every dim', 'has shape (1, 1)', 'wanted (3, 1)'),
         'sums every dim (a full tuple of dims), not only the size-1 ones'),
    _unb('unbroadcast_keepdim_without_dims', _UNB_ANY + '''\
        grad = grad.sum(keepdim=True)
    return grad''' + _UNB_RIGHT,
         ('received an invalid combination of arguments', 'keepdim but without dims', 'dim=dims'),
         'calls grad.sum(keepdim=True) without naming the dims'),
    _unb('mul_add_typo_in_a_name', _SUM_TO_SIZE + '''\
    return (unbroadcast(grad_out * b, a.shape), unbroadcast(grad_out * a, b.shape), unbroadcst(grad_out, c.shape))''',
         ("name 'unbroadcst' is not defined", 'typo of `unbroadcast`'),
         'a typo in a function name (a NameError)'),
    _unb('mul_add_passes_size_method', _UNB_KEEPDIM + '''

def mul_add_backward(a, b, c, grad_out):
    return (unbroadcast(grad_out * b, a.size), unbroadcast(grad_out * a, b.size), unbroadcast(grad_out, c.size))''',
         ('not iterable', 'not a sequence of ints', 'pass `a.shape`', 'not the method `a.size`'),
         'passes the method a.size instead of a.shape'),
]

MISTAKES = [*FIT_LINE, *VALUE_OPS, *VALUE_BACKWARD, *NEURON_MLP, *ROUND_2, *ROUND_3, *ROUND_4, *UNBROADCAST]
