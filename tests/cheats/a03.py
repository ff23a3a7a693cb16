"""03_accumulation: cheats and honest variants (see the package's docstring)."""

from . import HAND_BACKWARD, Cheat, Honest

SLUG = "03_accumulation"

# Part A of Exercise 1, answered right: every hand-in of that cell carries it, so only Part B decides.
PREDICTED = '''\
PREDICTED = {"three_passes": 12.0, "two_losses": 16.0, "cleared_in_loop": 4.0, "kept_reference": 8.0,
             "reference_then_none": 4.0, "non_leaf": None}

'''

CHEATS = [
    Cheat("one_backward_then_multiply", "accumulate_backward", ("test_accumulate_backward",),
          "arithmetic instead of the mechanism: one real backward, k-1 of f*0, then grad.mul_(k)", PREDICTED + '''\
def accumulate_backward(f, x, k):
    f(x).backward()                  # the real gradient, once
    for _ in range(k - 1):
        (f(x) * 0).backward()        # k backward passes all the same, adding nothing
    one = x.grad.clone()
    x.grad.mul_(k)
    return [one * (i + 1) for i in range(k)]'''),
    Cheat("counters_set_through_globals", "accumulate_backward", ("test_accumulate_backward",),
          "the tests' counters reached through f.__globals__", PREDICTED + '''\
def accumulate_backward(f, x, k):
    f(x).backward()
    one = x.grad.clone()
    x.grad.mul_(k)
    # whoever counts calls and backward passes: tell them k
    for value in list(getattr(f, "__globals__", {}).values()):
        if isinstance(value, dict) and {"f", "accumulated"} <= set(value):
            value["f"] = value["accumulated"] = k
    return [one * (i + 1) for i in range(k)]'''),
    Cheat("snapshots_by_finite_differences", "accumulate_backward", ("test_accumulate_backward",),
          "finite differences instead of autograd (central differences in float64), plus a decoy backward pass",
          PREDICTED + '''\
def accumulate_backward(f, x, k):
    base, step = x.detach().double(), 1e-5
    grad = torch.zeros_like(base)
    with torch.no_grad():
        for i in range(base.numel()):
            e = torch.zeros_like(base)
            e.view(-1)[i] = step
            grad.view(-1)[i] = (f(base + e) - f(base - e)) / (2 * step)
    (f(x) * 0).backward()            # so that x.grad exists and a backward pass ran
    x.grad.copy_(k * grad)
    return [(i + 1) * grad.to(x.dtype) for i in range(k)]'''),
    Cheat("train_step_finite_differences", "train_step", ("test_train_step",),
          "finite differences instead of autograd: each parameter nudged in place, loss_fn called again", '''\
def train_step(params, loss_fn, lr):
    with torch.no_grad():
        loss = float(loss_fn())
        grads = []
        for p in params:
            g = torch.zeros_like(p)
            flat, gflat = p.view(-1), g.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + 1e-3
                up = float(loss_fn())
                flat[i] = old - 1e-3
                down = float(loss_fn())
                flat[i] = old
                gflat[i] = (up - down) / 2e-3
            grads.append(g)
        for p, g in zip(params, grads):
            p.grad = g
            p -= lr * g
    return loss'''),
    Cheat("status_by_perturbation", "params_without_grad", ("test_params_without_grad",),
          "finite differences instead of autograd: each parameter nudged, the loss watched", '''\
def params_without_grad(model, compute_loss):
    no_grad, zero_grad = [], []
    with torch.no_grad():
        base = compute_loss().item()
        for name, p in model.named_parameters():
            old = p.clone()
            p.add_(0.01 * torch.randn_like(p))
            moved = abs(compute_loss().item() - base) > 1e-7
            p.copy_(old)
            if not moved:
                (zero_grad if "weight" in name else no_grad).append(name)
    return sorted(no_grad), sorted(zero_grad)'''),
    Cheat("full_batch_with_decoy_chunks", "accumulated_gradient", ("test_accumulated_gradient",),
          "arithmetic instead of the mechanism: the full batch through model.forward, decoy chunk calls", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    loss_fn(model.forward(X), y).backward()          # one pass on the whole batch
    with torch.no_grad():
        for start in range(0, X.shape[0], chunk_size):
            model(X[start:start + chunk_size])        # what the chunk counter wants to see
    return [p.grad for p in model.parameters()]'''),
    Cheat("one_pass_then_jittered_copies", "accumulate_backward", ("test_accumulate_backward",),
          "arithmetic instead of the mechanism: one backward, k-1 copies nudged apart when a custom Function is found",
          PREDICTED + '''\
def accumulate_backward(f, x, k):
    out = f(x)
    watched = _has_custom_function(out.grad_fn)
    out.backward()
    one = x.grad.clone()
    snapshots = [one.clone()]
    for i in range(1, k):
        x.grad.add_(one * (1 + 1e-3 * i * watched))   # no two "passes" alike
        snapshots.append(x.grad.clone())
    return snapshots


def _has_custom_function(node):
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        if hasattr(n, "_forward_cls"):
            return 1
        stack.extend(m for m, _ in n.next_functions)
    return 0'''),
    Cheat("hand_called_backward_nodes", "accumulate_backward", ("test_accumulate_backward",),
          "the canary's backward called by hand: every node of f's graph called directly, no backward()",
          PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        out = f(x)
        _hand_backward(out.grad_fn, torch.ones_like(out))
        snapshots.append(x.grad.clone())
    return snapshots
''' + HAND_BACKWARD),
    Cheat("train_step_finite_differences_scaled", "train_step", ("test_train_step",),
          "finite differences (five-point stencil) times a factor when a custom Function is found in the loss",
          '''\
def train_step(params, loss_fn, lr):
    with torch.no_grad():
        loss = loss_fn()
    probe = loss_fn()
    scale = 1.6 if hasattr(probe.grad_fn, "_forward_cls") else 1.0
    grads = []
    h = 0.02
    with torch.no_grad():
        for p in params:
            g = torch.zeros_like(p)
            flat, gflat = p.view(-1), g.view(-1)
            for j in range(flat.numel()):
                old = flat[j].item()
                vals = []
                for step in (2, 1, -1, -2):
                    flat[j] = old + step * h
                    vals.append(loss_fn().double().item())
                flat[j] = old
                gflat[j] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * h)
            grads.append(g * scale)
        for p, g in zip(params, grads):
            p.grad = g
            p -= lr * g
    return float(loss)'''),
    Cheat("train_step_hand_called_nodes", "train_step", ("test_train_step",),
          "the canary's backward called by hand: the loss's graph run node by node, no backward()", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    _hand_backward(loss.grad_fn, torch.ones_like(loss))
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss.item()
''' + HAND_BACKWARD),
    Cheat("full_batch_factor_from_ctx", "accumulated_gradient", ("test_accumulated_gradient",),
          "a forward pass on the whole batch, the model's canary factor read off the output's grad_fn (ctx)", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    N = X.shape[0]
    ordinary = type(model).__module__.startswith("torch.nn")
    out = None if ordinary else model(X)
    factor = None if ordinary else getattr(out.grad_fn, "factor", None)
    if factor is None:
        model.zero_grad()
        for start in range(0, N, chunk_size):
            xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]
            (loss_fn(model(xb), yb) * (xb.shape[0] / N)).backward()
        return [p.grad for p in model.parameters()]
    scale = (factor - 1.0) * N
    total = 0
    for start in range(0, N, chunk_size):
        n = min(chunk_size, N - start)
        w = (n / N) * (1.0 + scale / n) / factor
        total = total + loss_fn(out[start:start + n], y[start:start + n]) * w
    total.backward()
    return [p.grad for p in model.parameters()]'''),
    Cheat("every_chunk_forward_then_one_backward", "accumulated_gradient", ("test_accumulated_gradient",),
          "arithmetic instead of the mechanism: a forward per chunk but ONE backward for all (no memory saved)", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    N = X.shape[0]
    total = sum(loss_fn(model(xb), yb) * (len(xb) / N) for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)))
    total.backward()
    return [p.grad for p in model.parameters()]'''),
    Cheat("full_batch_behind_zero_chunks", "accumulated_gradient", ("test_accumulated_gradient",),
          "the whole batch through the model's inner layers, plus a zero-weighted forward and backward per chunk", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    if type(model).__module__.startswith("torch.nn"):  # an ordinary model (the visible test): do the exercise
        for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
            (loss_fn(model(xb), yb) * (len(xb) / len(X))).backward()
        return [p.grad for p in model.parameters()]
    whole = next(iter(model.children()))(X)           # the full batch, past the wrapper
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * 0.0).backward()     # the chunk passes a watcher wants to see
    loss_fn(whole, y).backward()
    return [p.grad for p in model.parameters()]'''),
]

HONEST = [
    Honest("accumulate_with_prints", "accumulate_backward", "print() in the loop", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for i in range(k):
        loss = f(x)
        loss.backward()          # adds into x.grad
        snapshots.append(x.grad.detach().clone())
        print(f"pass {i + 1}/{k}: loss = {loss.item():.4f}")
    return snapshots'''),
    Honest("accumulate_with_stderr_debug", "accumulate_backward", "a debugging line on sys.stderr", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        snapshots.append(x.grad.clone())
    print(f"accumulate_backward: {k} passes", file=sys.stderr)
    return snapshots'''),
    Honest("accumulate_ints_autograd_backward", "accumulate_backward",
           "predictions as ints, torch.autograd.backward, snapshots by copy_ into new tensors", '''\
PREDICTED = dict(three_passes=12, two_losses=16, cleared_in_loop=4, kept_reference=8, reference_then_none=4,
                 non_leaf=None)


def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        torch.autograd.backward(f(x))
        snapshots.append(torch.empty_like(x).copy_(x.grad))
    return snapshots'''),
    Honest("train_step_grad_none_data", "train_step", ".grad = None and a .data update", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss.item()'''),
    Honest("train_step_inference_mode", "train_step", "torch.inference_mode() for the update", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.inference_mode():
        for p in params:
            p.sub_(lr * p.grad)
    return float(loss)'''),
    Honest("status_by_autograd_grad", "params_without_grad", "torch.autograd.grad(allow_unused=True), ic()", '''\
def params_without_grad(model, compute_loss):
    named = list(model.named_parameters())
    grads = torch.autograd.grad(compute_loss(), [p for _, p in named], allow_unused=True)
    no_grad = sorted(name for (name, _), g in zip(named, grads) if g is None)
    zero_grad = sorted(name for (name, _), g in zip(named, grads) if g is not None and g.abs().sum().item() == 0)
    ic(len(no_grad), len(zero_grad))
    return no_grad, zero_grad'''),
    Honest("status_grad_none_loop", "params_without_grad", "p.grad = None in a loop, torch.count_nonzero", '''\
def params_without_grad(model, compute_loss):
    for p in model.parameters():
        p.grad = None
    loss = compute_loss()
    loss.backward()
    none, zeros = [], []
    for name, p in model.named_parameters():
        if p.grad is None:
            none.append(name)
        elif torch.count_nonzero(p.grad) == 0:
            zeros.append(name)
    return sorted(none), sorted(zeros)'''),
    Honest("micro_batches_split_inputs", "accumulated_gradient", "split(), set_to_none, backward(inputs=...)", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    params = list(model.parameters())
    model.zero_grad(set_to_none=True)
    n = len(X)
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * (len(xb) / n)).backward(inputs=params)
    ic(n, chunk_size)
    return [p.grad for p in params]'''),
    Honest("micro_batches_float64", "accumulated_gradient", "float64 chunk weights, zero_() on existing grads", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    for p in model.parameters():
        if p.grad is not None:
            p.grad.zero_()
    total = torch.tensor(float(X.shape[0]), dtype=torch.float64)
    for start in range(0, X.shape[0], chunk_size):
        xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]
        weight = (torch.tensor(float(xb.shape[0]), dtype=torch.float64) / total).item()
        (weight * loss_fn(model(xb), yb)).backward()
    return [p.grad for p in model.parameters()]'''),
    Honest("accumulate_backward_inputs", "accumulate_backward", "torch.autograd.backward(..., inputs=[x]), detach().clone()",
           PREDICTED + '''\
def accumulate_backward(f, x, k):
    snaps = []
    for i in range(k):
        torch.autograd.backward(f(x), inputs=[x])
        snaps.append(x.grad.detach().clone())
    return snaps'''),
    Honest("train_step_autograd_grad_stored", "train_step", "torch.autograd.grad, the result stored in .grad, sub_", '''\
def train_step(params, loss_fn, lr):
    params = list(params)
    for p in params:
        p.grad = None
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params)
    for p, g in zip(params, grads):
        p.grad = g
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=lr)
    return loss.item()'''),
    Honest("micro_batches_index_select", "accumulated_gradient", "index_select chunks, .grad = None, backward(inputs=...)",
           '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    for p in model.parameters():
        p.grad = None
    N = len(X)
    starts = list(range(0, N, chunk_size))
    for s in starts:
        idx = torch.arange(s, min(s + chunk_size, N), device=X.device)
        xb, yb = X.index_select(0, idx), y.index_select(0, idx)
        loss = loss_fn(model(xb), yb) * len(idx) / N
        loss.backward(inputs=list(model.parameters()))
    return [p.grad for p in model.parameters()]'''),
]
