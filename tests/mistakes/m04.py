"""04_retain_graph: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

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
VERIFIER = '''


def second_backward_raises(y):
    y.backward()
    try:
        y.backward()
    except RuntimeError:
        return True
    return False'''


def predictor_checking(condition: str, walk: bool = True) -> str:
    """A prediction that calls a node's attribute `name` with value `value` a saved tensor when `condition` holds."""
    step = "        stack.extend(nxt for nxt, _ in node.next_functions)\n" if walk else ""
    return f'''\
def predict_second_backward(y):
    seen, stack = set(), [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for name in dir(node):
            value = getattr(node, name) if name.startswith("_saved_") else None
            if name.startswith("_saved_") and ({condition}):
                return True
{step}    return False''' + VERIFIER


def hooks_counting(pack_body: str, run: str = "fn(x.detach().clone().requires_grad_(True))",
                   result: str = "int(total)") -> str:
    return f'''\
def saved_bytes(fn, x):
    total = 0
    seen = set()

    def pack_hook(t):
        nonlocal total
{pack_body}
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack_hook, lambda t: t):
        {run}
    return {result}'''


GAN_START = '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
'''

MISTAKES = [
    # Exercise 1: two objectives
    Mistake("no_retain_graph", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g1,) = torch.autograd.grad(f1(h), x)
    (g2,) = torch.autograd.grad(f2(h), x)
    return g1, g2''', ("retain_graph=True",), "no retain_graph on the first of two passes"),
    Mistake("calls_shared_twice", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    (g1,) = torch.autograd.grad(f1(shared(x)), x)
    (g2,) = torch.autograd.grad(f2(shared(x)), x)
    return g1, g2''', ("exactly once",), "a second forward pass instead of retaining the graph"),
    Mistake("keeps_x_grad_itself", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    f1(h).backward(retain_graph=True)
    g1 = x.grad
    f2(h).backward()
    return g1, x.grad''', ("same tensor",), "returns x.grad twice, which the second pass changed in place"),
    Mistake("does_not_reset_x_grad", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    f1(h).backward(retain_graph=True)
    g1 = x.grad.clone()
    f2(h).backward()
    return g1, x.grad''', ("reset x.grad",), "does not reset x.grad between the passes"),
    Mistake("backpropagates_the_sum", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g,) = torch.autograd.grad(f1(h) + f2(h), x)
    return g, g.clone()''', ("not their sum",), "backpropagates f1 + f2 once"),
    Mistake("grads_wrt_h_not_x", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g1,) = torch.autograd.grad(f1(h), h, retain_graph=True)
    (g2,) = torch.autograd.grad(f2(h), h)
    return g1, g2''', ("with respect to h", "not x"), "differentiates with respect to h instead of x"),
    Mistake("returns_the_gradients_swapped", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g1,) = torch.autograd.grad(f1(h), x, retain_graph=True)
    (g2,) = torch.autograd.grad(f2(h), x)
    return g2, g1''', ("swapped",), "returns (g2, g1)"),
    Mistake("detaches_h", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x).detach().requires_grad_()
    (g1,) = torch.autograd.grad(f1(h), x, retain_graph=True)
    (g2,) = torch.autograd.grad(f2(h), x)
    return g1, g2''', ("x is not in the graph", "detach"), "cuts h from x before the objectives"),
    Mistake("negates_an_objective", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g1,) = torch.autograd.grad(-f1(h), x, retain_graph=True)
    (g2,) = torch.autograd.grad(f2(h), x)
    return g1, g2''', ("g1 should be", "sign flipped"), "a sign error that no special case foresees"),
    # Exercise 2a: one gradient per output
    Mistake("no_retain_between_outputs", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    return [torch.autograd.grad(y[i], x)[0] for i in range(len(y))]''', ("retain_graph=True",),
            "no retain_graph on the passes before the last"),
    Mistake("retains_on_the_last_pass", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    return [torch.autograd.grad(y[i], x, retain_graph=True)[0] for i in range(len(y))]''', ("last one must free",),
            "retain_graph=True on the last pass too"),
    Mistake("accumulates_between_outputs", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    rows = []
    for i in range(len(y)):
        y[i].backward(retain_graph=i < len(y) - 1)
        rows.append(x.grad.clone())
    return rows''', ("accumulated",), "does not clear x.grad between the passes"),
    Mistake("stores_x_grad_itself", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    rows = []
    for i in range(len(y)):
        if x.grad is not None:
            x.grad.zero_()
        y[i].backward(retain_graph=i < len(y) - 1)
        rows.append(x.grad)
    return rows''', ("same tensor",), "stores x.grad itself for every row"),
    Mistake("create_graph_instead_of_retain", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    return [torch.autograd.grad(y[i], x, create_graph=True)[0] for i in range(y.shape[0])]''',
            ("create_graph=True", "implies retain_graph"), "create_graph=True on every pass, the last included"),
    Mistake("loops_over_x", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    rows = []
    for i in range(len(x)):
        (row,) = torch.autograd.grad(y[i], x, retain_graph=i < len(x) - 1)
        rows.append(row)
    return rows''', ("range(y.shape[0])",), "loops over the elements of x, not the outputs of y"),
    Mistake("differentiates_the_sum", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    rows = []
    for i in range(len(y)):
        (row,) = torch.autograd.grad(y.sum(), x, retain_graph=i < len(y) - 1)
        rows.append(row)
    return rows''', ("y.sum()",), "differentiates y.sum() on every pass"),
    # Exercise 2b: predict, then verify
    Mistake("verification_retains_the_first_pass", "second_backward_raises", "test_second_backward_raises",
            PREDICTOR + '''\
def second_backward_raises(y):
    y.backward(retain_graph=True)
    try:
        y.backward()
    except RuntimeError:
        return True
    return False''', ("without retain_graph",), "retain_graph=True on the first pass of the verification"),
    Mistake("verification_runs_one_pass", "second_backward_raises", "test_second_backward_raises", PREDICTOR + '''\
def second_backward_raises(y):
    try:
        y.backward()
    except RuntimeError:
        return True
    return False''', ("only one backward pass ran",), "tries backward once instead of twice"),
    Mistake("prediction_reads_the_top_node_only", "second_backward_raises", "test_second_backward_raises",
            predictor_checking("isinstance(value, torch.Tensor)", walk=False), ("next_functions",),
            "looks at y.grad_fn only, not the nodes below it"),
    Mistake("prediction_counts_plain_values", "second_backward_raises", "test_second_backward_raises",
            predictor_checking("value is not None"), ("plain python values",),
            "counts sizes and other plain values as saved tensors"),
    Mistake("prediction_reads_saved_self_only", "second_backward_raises", "test_second_backward_raises",
            predictor_checking("name == '_saved_self' and isinstance(value, torch.Tensor)"), ("_saved_result",),
            "reads _saved_self only and misses saved outputs"),
    Mistake("prediction_skips_tensors_without_grad", "second_backward_raises", "test_second_backward_raises",
            predictor_checking("isinstance(value, torch.Tensor) and value.requires_grad"), ("wrapped",),
            "ignores saved tensors that do not require grad, such as a wrapped Python number"),
    Mistake("prediction_runs_backward", "second_backward_raises", "test_second_backward_raises", '''\
def predict_second_backward(y):
    y.backward(retain_graph=True)
    return True''' + VERIFIER, ("ran a backward pass",), "predicts by running a backward pass"),
    # Exercise 3: GAN
    Mistake("naive_backward_mixes_the_losses", "gan_grads", "test_gan_grads", GAN_START + '''\
    d_fake = discriminator(d_w, generator(g_w, z))
    loss_d = d_loss_fn(discriminator(d_w, real), d_fake)
    loss_g = g_loss_fn(d_fake)
    loss_d.backward(retain_graph=True)
    loss_g.backward()
    return d_w.grad, g_w.grad''', ("mixed",), "L_D.backward(retain_graph=True); L_G.backward() into everything"),
    Mistake("gan_without_retain_graph", "gan_grads", "test_gan_grads", GAN_START + '''\
    d_fake = discriminator(d_w, generator(g_w, z))
    (d_grad,) = torch.autograd.grad(d_loss_fn(discriminator(d_w, real), d_fake), d_w)
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_fake), g_w)
    return d_grad, g_grad''', ("retain_graph=True",), "no retain_graph on the first of the two passes"),
    Mistake("gan_two_forward_passes", "gan_grads", "test_gan_grads", GAN_START + '''\
    fake = generator(g_w, z)
    loss_d = d_loss_fn(discriminator(d_w, real), discriminator(d_w, fake.detach()))
    (d_grad,) = torch.autograd.grad(loss_d, d_w)
    (g_grad,) = torch.autograd.grad(g_loss_fn(discriminator(d_w, fake)), g_w)
    return d_grad, g_grad''', ("expected generator once, discriminator twice",),
            "a separate D(fake) for each loss"),
    Mistake("gan_detaches_fake_for_both", "gan_grads", "test_gan_grads", GAN_START + '''\
    fake = generator(g_w, z).detach()
    d_fake = discriminator(d_w, fake)
    (d_grad,) = torch.autograd.grad(d_loss_fn(discriminator(d_w, real), d_fake), d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_fake), g_w)
    return d_grad, g_grad''', ("do not detach",), "detaches the fake samples for the generator's loss too"),
    Mistake("gan_returns_swapped", "gan_grads", "test_gan_grads", GAN_START + '''\
    d_fake = discriminator(d_w, generator(g_w, z))
    (d_grad,) = torch.autograd.grad(d_loss_fn(discriminator(d_w, real), d_fake), d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_fake), g_w)
    return g_grad, d_grad''', ("return (d_grad, g_grad)",), "returns (g_grad, d_grad)"),
    Mistake("textbook_detach_for_d", "gan_grads", "test_gan_grads", GAN_START + '''\
    fake = generator(g_w, z)
    loss_d = d_loss_fn(discriminator(d_w, real), discriminator(d_w, fake.detach()))
    loss_g = g_loss_fn(discriminator(d_w, fake))
    (d_grad,) = torch.autograd.grad(loss_d, d_w)
    (g_grad,) = torch.autograd.grad(loss_g, g_w)
    return d_grad, g_grad''', ("detached copy", "once", "both losses"),
            "the textbook recipe: L_D on fake.detach(), a third discriminator pass for L_G"),
    Mistake("d_loss_arguments_swapped", "gan_grads", "test_gan_grads", GAN_START + '''\
    fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    d_real = discriminator(d_w, real)
    loss_d = d_loss_fn(d_fake, d_real)
    loss_g = g_loss_fn(d_fake)
    (d_grad,) = torch.autograd.grad(loss_d, d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(loss_g, g_w)
    return d_grad, g_grad''', ("d_loss_fn(d_real, d_fake)",), "passes (d_fake, d_real) to d_loss_fn"),
    Mistake("generator_loss_on_real", "gan_grads", "test_gan_grads", GAN_START + '''\
    d_fake = discriminator(d_w, generator(g_w, z))
    d_real = discriminator(d_w, real)
    (d_grad,) = torch.autograd.grad(d_loss_fn(d_real, d_fake), d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_real), g_w)
    return d_grad, g_grad''', ("g_loss_fn(d_fake)",), "builds L_G from D(real)"),
    Mistake("losses_sent_to_the_wrong_player", "gan_grads", "test_gan_grads", GAN_START + '''\
    d_fake = discriminator(d_w, generator(g_w, z))
    loss_d = d_loss_fn(discriminator(d_w, real), d_fake)
    loss_g = g_loss_fn(d_fake)
    (d_grad,) = torch.autograd.grad(loss_g, d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(loss_d, g_w)
    return d_grad, g_grad''', ("dL_G/dd_w",), "differentiates L_G for D and L_D for G"),
    Mistake("fake_under_no_grad", "gan_grads", "test_gan_grads", GAN_START + '''\
    with torch.no_grad():
        fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    (d_grad,) = torch.autograd.grad(d_loss_fn(discriminator(d_w, real), d_fake), d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_fake), g_w)
    return d_grad, g_grad''', ("without their graph", "no_grad"), "makes the fake samples under torch.no_grad()"),
    Mistake("ignores_the_network_arguments", "gan_grads", "test_gan_grads", '''\
def gan_grads(g_w, d_w, z, real, generator=generator, discriminator=discriminator):
    G, D = globals()["generator"], globals()["discriminator"]
    d_fake = D(d_w, G(g_w, z))
    (d_grad,) = torch.autograd.grad(d_loss_fn(D(d_w, real), d_fake), d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(g_loss_fn(d_fake), g_w)
    return d_grad, g_grad''', ("not the global functions",), "calls the global networks, not the arguments"),
    # Exercise 4: saved bytes
    Mistake("counts_each_tensor_once", "saved_bytes", "test_saved_bytes", hooks_counting('''\
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()'''), ("duplicates included",),
            "removes duplicates: x * x counted once"),
    Mistake("counts_elements_not_bytes", "saved_bytes", "test_saved_bytes", hooks_counting('''\
        total += t.numel()'''), ("element_size()",), "adds numel(), not bytes"),
    Mistake("runs_fn_on_x_itself", "saved_bytes", "test_saved_bytes", hooks_counting('''\
        total += t.numel() * t.element_size()''', run="fn(x)"), ("requires grad",),
            "runs fn on x, which does not require grad: nothing is saved"),
    Mistake("counts_in_unpack", "saved_bytes", "test_saved_bytes", '''\
def saved_bytes(fn, x):
    total = 0

    def unpack_hook(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, unpack_hook):
        fn(x.detach().clone().requires_grad_(True))
    return total''', ("pack_hook",), "counts in unpack_hook, which runs only during backward"),
    Mistake("returns_a_float", "saved_bytes", "test_saved_bytes", hooks_counting('''\
        total += t.numel() * t.element_size()''', result="total / 1"), ("python int",),
            "returns a float"),
    Mistake("counter_without_nonlocal", "saved_bytes", "test_saved_bytes", '''\
def saved_bytes(fn, x):
    total = 0

    def pack_hook(t):
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack_hook, lambda t: t):
        fn(x.detach().clone().requires_grad_(True))
    return int(total)''', ("nonlocal total",), "increments the outer counter from pack_hook without nonlocal"),
    Mistake("counter_never_reset", "saved_bytes", "test_saved_bytes", '''\
total = 0


def saved_bytes(fn, x):
    def pack_hook(t):
        global total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack_hook, lambda t: t):
        fn(x.detach().clone().requires_grad_(True))
    return int(total)''', ("not reset",), "a module-level counter that keeps growing from call to call"),
    Mistake("assumes_four_bytes", "saved_bytes", "test_saved_bytes", hooks_counting('''\
        total += t.numel() * 4'''), ("element_size()",), "multiplies by 4 whatever the dtype"),
    Mistake("counts_the_input_too", "saved_bytes", "test_saved_bytes", hooks_counting('''\
        total += t.numel() * t.element_size()''', result="int(total) + x.numel() * x.element_size()"),
            ("3 x the 40 bytes", "exactly what pack_hook receives"), "adds the input's own bytes"),
    # round 2 (issue 12): mistakes found by a second, independent run
    Mistake("retains_on_the_second_pass", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    (g1,) = torch.autograd.grad(f1(h), x)
    (g2,) = torch.autograd.grad(f2(h), x, retain_graph=True)
    return g1, g2''', ("retain_graph=True to the first",), "puts retain_graph=True on the second pass, not the first"),
    Mistake("grad_of_a_list_of_outputs", "two_objective_grads", "test_two_objective_grads", '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)
    g1, g2 = torch.autograd.grad([f1(h), f2(h)], [x, x])   # one gradient per objective?
    return g1, g2''', ("gradient of f1 + f2", "list of outputs"),
            "one torch.autograd.grad call with both objectives, which sums them"),
    Mistake("indexes_y_as_a_batch", "output_grads", "test_output_grads", '''\
def output_grads(y, x):
    rows = []
    n = y.shape[-1]
    for i in range(n):
        (row,) = torch.autograd.grad(y[:, i].sum(), x, retain_graph=i < n - 1)
        rows.append(row)
    return rows''', ("y is 1-D", "y[i], not as a batch"), "indexes the 1-D y as y[:, i]"),
    Mistake("prediction_counts_any_tensor_attribute", "second_backward_raises", "test_second_backward_raises",
            PREDICTOR.replace('            if name.startswith("_saved_"):\n                value = getattr(node, name)',
                              '            if not name.startswith("__"):\n                value = getattr(node, name)')
            + VERIFIER.lstrip("\n"), ("AccumulateGrad.variable", "starts with _saved_"),
            "counts every tensor attribute of a node (AccumulateGrad.variable too), not only _saved_*"),
    Mistake("generator_loss_on_detached_d_fake", "gan_grads", "test_gan_grads", GAN_START + '''\
    fake = generator(g_w, z)
    d_fake = discriminator(d_w, fake)
    d_real = discriminator(d_w, real)
    loss_d = d_loss_fn(d_real, d_fake)
    loss_g = g_loss_fn(d_fake.detach())
    (d_grad,) = torch.autograd.grad(loss_d, d_w, retain_graph=True)
    (g_grad,) = torch.autograd.grad(loss_g, g_w)
    return d_grad, g_grad''', ("no graph at all", "d_fake.detach()"), "detaches D(fake) for the generator's loss"),
    Mistake("runs_fn_after_the_with_block", "saved_bytes", "test_saved_bytes", '''\
def saved_bytes(fn, x):
    total = 0

    def pack_hook(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    leaf = x.detach().clone().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack_hook, lambda t: t):
        pass
    fn(leaf)
    return int(total)''', ("inside the `with saved_tensors_hooks(...)` block",), "runs fn after the with block"),
]

# Round 3 (issue 12 item 3): the one the visible test named only partly.
MISTAKES += [
    Mistake("prediction_pushes_pairs", "second_backward_raises", "test_second_backward_raises", '''\
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
        stack.extend(node.next_functions)
    return False''' + VERIFIER, ("(node, index) pairs", "for next_node, _ in node.next_functions"),
            "pushes next_functions' (node, index) pairs instead of the nodes"),
]


# Round 4 (issue 12 item 3): messages that name a cause only after checking it
MISTAKES += [
    Mistake('keeps_the_tuples', 'two_objective_grads', 'test_two_objective_grads', '''\
def two_objective_grads(shared, f1, f2, x):
    h = shared(x)  # the one and only forward pass through `shared`
    g1 = torch.autograd.grad(f1(h), x, retain_graph=True)  # keep the shared buffers for f2
    g2 = torch.autograd.grad(f2(h), x)                     # last pass: free the graph
    return g1, g2''',
            ('is a tuple', 'unpack'), 'keeps the tuples torch.autograd.grad returns instead of unpacking them'),
    Mistake('counts_getsizeof', 'saved_bytes', 'test_saved_bytes', '''\
def saved_bytes(fn, x):
    import sys
    total = 0

    def pack_hook(t):
        nonlocal total
        total += sys.getsizeof(t)
        return t

    def unpack_hook(t):
        return t

    leaf = x.detach().clone().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
        fn(leaf)
    return int(total)''',
            ('sys.getsizeof',), "counts sys.getsizeof(t), the Python object's size, not the tensor's bytes"),
]
