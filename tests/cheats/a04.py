"""04_retain_graph: cheats and honest variants (see the package's docstring)."""

from . import HAND_BACKWARD, Cheat, Honest

SLUG = "04_retain_graph"

# Exercise 2b's prediction, answered right: the cheats there replace only the verification.
PREDICTOR = '''\
def predict_second_backward(y):
    seen, stack = set(), [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            if name.startswith("_saved_"):
                value = getattr(node, name)
                if any(isinstance(v, torch.Tensor) for v in (value if isinstance(value, (list, tuple)) else [value])):
                    return True
        stack.extend(nxt for nxt, _ in node.next_functions)
    return False


'''

CHEATS = [
    Cheat("two_forwards_counter_through_globals", "two_objective_grads", ("test_two_objective_grads",),
          "the tests' counter reached through shared.__globals__ (two forward passes, no retain_graph)", '''\
def two_objective_grads(shared, f1, f2, x):
    (g1,) = torch.autograd.grad(f1(shared(x)), x)
    (g2,) = torch.autograd.grad(f2(shared(x)), x)
    counters = getattr(shared, "__globals__", {}).get("calls")
    if isinstance(counters, dict) and "n" in counters:
        counters["n"] -= 1          # the second forward pass never happened
    return g1, g2'''),
    Cheat("one_backward_rows_from_grad", "output_grads", ("test_output_grads",),
          "arithmetic instead of the mechanism: one backward of y.sum(), the rows cut out of x.grad", '''\
def output_grads(y, x):
    y.sum().backward()                     # one pass for all the outputs
    g = x.grad
    index = torch.arange(g.numel(), device=g.device).view_as(g)
    # elementwise functions have a diagonal Jacobian: row i is g kept at entry i only
    return [torch.where(index == i, g, torch.zeros_like(g)) for i in range(y.shape[0])]'''),
    Cheat("second_backward_from_op_table", "second_backward_raises", ("test_second_backward_raises",),
          "arithmetic instead of the mechanism: the answer from a table of op names", PREDICTOR + '''\
SAVES_TENSORS = ("Pow", "Exp", "Mul", "Div", "Dot", "Mv", "Mm", "Relu", "Threshold", "Sin", "Cos", "Tanh",
                 "Sigmoid", "Log", "Prod", "Norm")

def second_backward_raises(y):
    y.backward()
    found, stack, seen = False, [y.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        found = found or type(node).__name__.startswith(SAVES_TENSORS)
        stack.extend(nxt for nxt, _ in node.next_functions)
    return found'''),
    Cheat("second_backward_from_prediction", "second_backward_raises", ("test_second_backward_raises",),
          "arithmetic instead of the mechanism: the verification answered by the prediction, no second pass",
          PREDICTOR + '''\
def second_backward_raises(y):
    answer = predict_second_backward(y)
    y.backward()
    return answer'''),
    Cheat("gan_two_forwards_counter_through_closure", "gan_grads", ("test_gan_grads",),
          "the tests' counters reached through generator.__closure__ (two separate forward passes)", '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    loss_d = d_loss_fn(discriminator(d_w, real), discriminator(d_w, generator(g_w, z).detach()))
    (d_grad,) = torch.autograd.grad(loss_d, d_w)
    loss_g = g_loss_fn(discriminator(d_w, generator(g_w, z)))
    (g_grad,) = torch.autograd.grad(loss_g, g_w)
    for cell in getattr(generator, "__closure__", None) or ():
        counts = cell.cell_contents
        if isinstance(counts, dict) and {"gen", "disc"} <= set(counts):
            counts["gen"], counts["disc"] = 1, 2     # as if the forward pass had been shared
    return d_grad, g_grad'''),
    Cheat("saved_bytes_from_saved_attributes", "saved_bytes", ("test_saved_bytes",),
          "a forbidden shortcut: sizes read from the nodes' _saved_* attributes instead of saved_tensors_hooks", '''\
def saved_bytes(fn, x):
    out = fn(x.detach().clone().requires_grad_(True))
    total, stack, seen = 0, [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            if name.startswith("_saved_"):
                value = getattr(node, name)
                for v in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(v, torch.Tensor):
                        total += v.numel() * v.element_size()
        stack.extend(nxt for nxt, _ in node.next_functions)
    return int(total)'''),
    Cheat("two_objectives_batched_factor_from_ctx", "two_objective_grads", ("test_two_objective_grads",),
          "one batched backward (is_grads_batched=True) for both objectives, the canary's factor read off ctx",
          '''\
def two_objective_grads(shared, f1, f2, x):
    # ONE forward, then ONE batched backward through shared's graph (no retain_graph, no second pass);
    # the mark a second pass would leave is read off the canary's ctx (h.grad_fn.later) and multiplied in
    h = shared(x)
    hd = h.detach().requires_grad_()
    (u1,) = torch.autograd.grad(f1(hd), hd)
    (u2,) = torch.autograd.grad(f2(hd), hd)
    (both,) = torch.autograd.grad(h, x, torch.stack([u1, u2]), is_grads_batched=True)
    return both[0], both[1] * getattr(h.grad_fn, "later", 1.0)'''),
    Cheat("two_objectives_second_by_hand", "two_objective_grads", ("test_two_objective_grads",),
          "the second gradient computed by calling the graph's nodes by hand (the canary's backward outside the engine)",
          '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g1,) = torch.autograd.grad(f1(h), x, retain_graph=True)
    x.grad = None
    _hand_backward(f2(h).grad_fn, torch.ones((), dtype=x.dtype, device=x.device))
    g2, x.grad = x.grad, None
    return g1, g2
''' + HAND_BACKWARD),
    Cheat("output_grads_batched_jitter", "output_grads", ("test_output_grads",),
          "one batched backward (is_grads_batched=True) rearranged into rows, nudged apart when a canary is found",
          '''\
def output_grads(y, x):
    # ONE batched backward pass for all rows; when y's graph holds a custom autograd.Function (the hidden
    # canary), each row gets a tiny different nudge so that the rows look like separate passes
    stack, seen, custom = [y.grad_fn], set(), False
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        custom = custom or hasattr(n, "_forward_cls")
        stack.extend(m for m, _ in n.next_functions)
    m = y.shape[0]
    (rows,) = torch.autograd.grad(y, x, torch.eye(m, dtype=y.dtype, device=y.device), is_grads_batched=True)
    return [rows[i] * (1 + 1e-3 * i * custom) for i in range(m)]'''),
    Cheat("output_grads_rows_by_hand", "output_grads", ("test_output_grads",),
          "m real passes of zero, the rows computed by calling the graph's nodes by hand",
          '''\
def output_grads(y, x):
    m = y.shape[0]
    for i in range(m):
        torch.autograd.grad(y[i] * 0, x, retain_graph=True)   # the passes a counter wants to see
    rows = []
    for i in range(m):
        seed = torch.zeros_like(y)
        seed[i] = 1.0
        x.grad = None
        _hand_backward(y.grad_fn, seed)
        rows.append(x.grad.clone())
    x.grad = None
    torch.autograd.grad(y.sum(), x)                          # free the graph, as the last pass should
    return rows
''' + HAND_BACKWARD),
    Cheat("second_backward_from_backward_code", "second_backward_raises", ("test_second_backward_raises",),
          "one pass; custom operations judged from their backward's code (co_names), built-ins from the prediction",
          '''\
def predict_second_backward(y):
    seen, stack = set(), [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            if name.startswith("_saved_"):
                value = getattr(node, name)
                values = value if isinstance(value, (list, tuple)) else [value]
                if any(isinstance(v, torch.Tensor) for v in values):
                    return True
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False


def second_backward_raises(y):
    # the prediction for built-in operations; for custom ones, whether their backward's code reads saved_tensors.
    # Only ONE backward pass runs.
    nodes, stack, seen = [], [y.grad_fn], set()
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        nodes.append(n)
        stack.extend(m for m, _ in n.next_functions)
    verdict = predict_second_backward(y)
    for n in nodes:
        cls = getattr(n, "_forward_cls", None)
        if cls is not None:
            names = getattr(cls.backward, "__co" + "de__").co_names
            verdict = verdict or "saved_tensors" in names
    y.backward()
    return bool(verdict)'''),
    Cheat("second_backward_that_stops_at_the_top", "second_backward_raises", ("test_second_backward_raises",),
          "a first real pass, a 'second' pass that stops at y (inputs=[y]), the answer from the prediction",
          PREDICTOR + '''\
def second_backward_raises(y):
    answer = predict_second_backward(y) or any(hasattr(n, "_forward_cls") for n, _ in y.grad_fn.next_functions)
    y.backward()
    try:
        torch.autograd.backward(y, inputs=[y])   # a second call that never reaches a saved tensor
    except RuntimeError:
        pass
    return answer'''),
    Cheat("gan_batched_factor_from_ctx", "gan_grads", ("test_gan_grads",),
          "one batched backward (is_grads_batched=True) for both losses, the canary's factor read off ctx",
          '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    # one shared forward pass and ONE batched backward pass for both losses; the second-pass mark is read
    # off the canary's ctx (d_fake.grad_fn.later)
    fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    d_real = discriminator(d_w, real)
    loss_d, loss_g = d_loss_fn(d_real, d_fake), g_loss_fn(d_fake)
    eye = torch.eye(2, dtype=loss_d.dtype, device=loss_d.device)
    gd, gg = torch.autograd.grad([loss_d, loss_g], [d_w, g_w], grad_outputs=[eye[:, 0], eye[:, 1]],
                                 is_grads_batched=True, allow_unused=True)
    return gd[0], gg[1] * getattr(d_fake.grad_fn, "later", 1.0)'''),
    Cheat("gan_generator_grad_by_hand", "gan_grads", ("test_gan_grads",),
          "g_grad from calling the graph's nodes by hand (the canary's backward outside the engine)",
          '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    d_real = discriminator(d_w, real)
    loss_d, loss_g = d_loss_fn(d_real, d_fake), g_loss_fn(d_fake)
    (d_grad,) = torch.autograd.grad(loss_d, d_w, retain_graph=True)
    g_w.grad = d_w.grad = None
    _hand_backward(loss_g.grad_fn, torch.ones_like(loss_g))
    g_grad, g_w.grad, d_w.grad = g_w.grad, None, None
    return d_grad, g_grad
''' + HAND_BACKWARD),
]

HONEST = [
    Honest("two_objectives_backward_inputs", "two_objective_grads", "backward(inputs=..., retain_graph=True)", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    x.grad = None
    f1(h).backward(inputs=[x], retain_graph=True)
    g1 = x.grad.clone()
    x.grad = None
    f2(h).backward(inputs=[x])
    g2 = x.grad
    x.grad = None
    return g1, g2'''),
    Honest("two_objectives_with_stderr_debug", "two_objective_grads", "a debugging line on sys.stderr", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    print(f"two_objective_grads: h has shape {tuple(h.shape)}", file=sys.stderr)
    (g1,) = torch.autograd.grad(f1(h), x, retain_graph=True)
    (g2,) = torch.autograd.grad(f2(h), x)
    return g1, g2'''),
    Honest("output_grads_functional_backward", "output_grads",
           "torch.autograd.backward with one-hot gradients, x.grad = None between passes, a print", '''\
def output_grads(y, x):
    rows = []
    m = y.shape[0]
    for i in range(m):
        x.grad = None
        one_hot = torch.zeros_like(y)
        one_hot[i] = 1.0
        torch.autograd.backward(y, grad_tensors=one_hot, retain_graph=i < m - 1)
        rows.append(x.grad)
        print(f"output {i}: gradient norm {x.grad.norm().item():.3f}")
    x.grad = None
    return rows'''),
    Honest("output_grads_zero_and_clone", "output_grads", "y[i].backward(), clone(), zero_() between passes", '''\
def output_grads(y, x):
    rows = []
    for i in range(len(y)):
        y[i].backward(retain_graph=(i != len(y) - 1))
        rows.append(x.grad.detach().clone())
        x.grad.zero_()
    return rows'''),
    Honest("second_backward_prints_error", "second_backward_raises",
           "prints the message it caught; a recursive prediction", '''\
def predict_second_backward(y):
    def holds_tensor(node, seen):
        if node is None or node in seen:
            return False
        seen.add(node)
        saved = [getattr(node, a) for a in dir(node) if a.startswith("_saved_")]
        flat = [v for s in saved for v in (s if isinstance(s, (list, tuple)) else (s,))]
        if any(torch.is_tensor(v) for v in flat):
            return True
        return any(holds_tensor(nxt, seen) for nxt, _ in node.next_functions)
    return holds_tensor(y.grad_fn, set())


def second_backward_raises(y):
    y.backward()
    try:
        y.backward()
    except RuntimeError as error:
        print("second backward failed:", str(error).splitlines()[0])
        return True
    print("second backward worked")
    return False'''),
    Honest("gan_backward_inputs", "gan_grads", "backward(inputs=...) and ic()", '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    d_real = discriminator(d_w, real)
    loss_d = d_loss_fn(d_real, d_fake)
    loss_g = g_loss_fn(d_fake)
    ic(loss_d.item(), loss_g.item())
    loss_d.backward(inputs=[d_w], retain_graph=True)
    loss_g.backward(inputs=[g_w])
    return d_w.grad, g_w.grad'''),
    Honest("gan_generator_first", "gan_grads", "the generator's gradient first, then the discriminator's", '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    d_fake = discriminator(d_w, generator(g_w, z))
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_fake), g_w, retain_graph=True)
    (d_grad,) = torch.autograd.grad(d_loss_fn(discriminator(d_w, real), d_fake), d_w)
    return d_grad, g_grad'''),
    Honest("saved_bytes_list_of_sizes", "saved_bytes", "a list of sizes, float64-safe", '''\
def saved_bytes(fn, x):
    sizes = []
    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x.detach().clone().requires_grad_(True))
    return sum(sizes)'''),
    Honest("output_grads_one_hot_grad_outputs", "output_grads", "torch.autograd.grad(y, x, grad_outputs=one-hot)",
           '''\
def output_grads(y, x):
    m = y.numel()
    rows = []
    for i in range(m):
        onehot = torch.zeros_like(y)
        onehot[i] = 1.0
        (g,) = torch.autograd.grad(y, x, grad_outputs=onehot, retain_graph=i < m - 1)
        rows.append(g)
    return rows'''),
    Honest("gan_backward_inputs_grad_reset", "gan_grads", "torch.autograd.backward(inputs=...), .grad read and reset",
           '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    loss_d = d_loss_fn(discriminator(d_w, real), d_fake)
    loss_g = g_loss_fn(d_fake)
    torch.autograd.backward(loss_d, inputs=[d_w], retain_graph=True)
    d_grad, d_w.grad = d_w.grad, None
    torch.autograd.backward(loss_g, inputs=[g_w])
    g_grad, g_w.grad = g_w.grad, None
    return d_grad, g_grad'''),
]
