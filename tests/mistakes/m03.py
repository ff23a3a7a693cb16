"""03_accumulation: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

PREDICTED = '''\
PREDICTED = {"three_passes": 12.0, "two_losses": 16.0, "cleared_in_loop": 4.0, "kept_reference": 8.0,
             "reference_then_none": 4.0, "non_leaf": None}

'''
SNAPSHOTS = '''\


def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        snapshots.append(x.grad.clone())
    return snapshots'''


def predicted(**wrong) -> str:
    """Part A with some predictions wrong, Part B right."""
    values = {"three_passes": 12.0, "two_losses": 16.0, "cleared_in_loop": 4.0, "kept_reference": 8.0,
              "reference_then_none": 4.0, "non_leaf": None, **wrong}
    return f"PREDICTED = {values!r}" + SNAPSHOTS


MISTAKES = [
    # Exercise 1, Part B: the snapshots
    Mistake("stores_grad_without_clone", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        snapshots.append(x.grad)
    return snapshots''', ("x.grad.clone()",), "stores x.grad itself, which later passes change in place"),
    Mistake("zeroes_inside_the_loop", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        if x.grad is not None:
            x.grad.zero_()
        f(x).backward()
        snapshots.append(x.grad.clone())
    return snapshots''', ("cleared inside the loop",), "zeroes .grad inside the accumulation loop"),
    Mistake("one_graph_backpropagated_k_times", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    y = f(x)
    snapshots = []
    for _ in range(k):
        y.backward()
        snapshots.append(x.grad.clone())
    return snapshots''', ("fresh forward pass",), "builds the graph once and backpropagates it k times"),
    Mistake("one_pass_too_few", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    f(x).backward()
    snapshots = []
    for _ in range(k - 1):
        f(x).backward()
        snapshots.append(x.grad.clone())
    return snapshots''', ("3 snapshots",), "an off-by-one in the loop: k - 1 snapshots"),
    Mistake("gradients_without_grad", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    total, snapshots = 0, []
    for _ in range(k):
        (g,) = torch.autograd.grad(f(x), x)
        total = total + g
        snapshots.append(total)
    return snapshots''', ("x.grad is None",), "sums torch.autograd.grad results, leaving x.grad empty"),
    Mistake("snapshots_as_lists", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        snapshots.append(x.grad.tolist())
    return snapshots''', ("list, not a tensor", "x.grad.clone()"), "stores each snapshot as a Python list"),
    Mistake("snapshot_before_backward", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        snapshots.append(torch.zeros_like(x) if x.grad is None else x.grad.clone())
        f(x).backward()
    return snapshots''', ("[0.0, 1.0, 2.0]", "before that pass's backward()"),
            "takes each snapshot before the pass's backward()"),
    Mistake("backpropagates_a_copy_of_x", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        t = x.detach().requires_grad_()
        f(t).backward()
        snapshots.append(t.grad.clone())
    return snapshots''', ("other than x",), "runs f on a detached copy of x, whose .grad is not x.grad"),
    Mistake("zeroes_after_the_loop", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        snapshots.append(x.grad.clone())
    x.grad.zero_()
    return snapshots''', ("zeroed after the last pass",), "zeroes x.grad after the loop"),
    Mistake("two_backward_passes_per_snapshot", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        f(x).backward()
        snapshots.append(x.grad.clone())
    return snapshots''', ("[2.0, 4.0, 6.0]", "exactly one backward() per pass"), "two backward passes per snapshot"),
    # Exercise 1, Part A: the predictions
    Mistake("predicts_overwrite", "accumulate_backward", "test_predicted_grads", predicted(three_passes=4.0),
            ("never overwrites",), "thinks backward() overwrites .grad"),
    Mistake("predicts_a_copy", "accumulate_backward", "test_predicted_grads", predicted(kept_reference=4.0),
            ("not a copy",), "thinks g = x.grad is a snapshot"),
    Mistake("predicts_zero_for_a_non_leaf", "accumulate_backward", "test_predicted_grads", predicted(non_leaf=0.0),
            ("only leaves",), "expects a gradient of zeros on a non-leaf"),
    Mistake("predicts_a_sum_despite_clearing", "accumulate_backward", "test_predicted_grads",
            predicted(cleared_in_loop=12.0), ("throws away",), "misses that x.grad = None inside the loop clears it"),
    # Exercise 2: the training step
    Mistake("forgets_to_zero", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss.item()''', ("not zeroed",), "does not zero .grad between steps"),
    Mistake("zeroes_after_backward", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    loss = loss_fn()
    loss.backward()
    for p in params:
        p.grad.zero_()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss.item()''', ("cleared after backward",), "zeroes between backward() and the update"),
    Mistake("rebinds_instead_of_updating", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p = p - lr * p.grad
    return loss.item()''', ("only rebinds",), "p = p - lr * p.grad instead of an in-place update"),
    Mistake("updates_outside_no_grad", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    for p in params:
        p -= lr * p.grad
    return loss.item()''', ("torch.no_grad()",), "updates the parameters outside torch.no_grad()"),
    Mistake("returns_a_tensor", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss''', ("loss.item()",), "returns the loss tensor, not a float"),
    Mistake("returns_the_loss_after_the_update", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss_fn().backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
        return loss_fn().item()''', ("after the update",), "returns the loss recomputed after the update"),
    Mistake("loss_under_no_grad", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.zero_()
        loss = loss_fn()
        loss.backward()
        for p in params:
            p -= lr * p.grad
    return loss.item()''', ("tracking off", "no_grad"), "the whole step, forward and backward, under torch.no_grad()"),
    Mistake("returns_a_fresh_loss", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss_fn().item()''', ("after the update",), "returns loss_fn() evaluated again after the update"),
    Mistake("backpropagates_a_detached_loss", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = torch.tensor(loss_fn().item(), requires_grad=True)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss.item()''', ("no backward pass reached the loss",), "backpropagates a new tensor made from loss.item()"),
    Mistake("ascends_the_gradient", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p += lr * p.grad
    return loss.item()''', ("sign is flipped",), "p += lr * p.grad"),
    Mistake("forgets_the_learning_rate", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= p.grad
    return loss.item()''', ("forgot lr",), "p -= p.grad"),
    Mistake("clears_at_the_end_of_the_step", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    for p in params:
        p.grad = None
    return loss.item()''', ("not at the end of the step",), "sets .grad to None at the end of the step"),
    # Exercise 3: None or zero
    Mistake("keeps_stale_gradients", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    compute_loss().backward()
    no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    return no_grad, zero_grad''', ("not cleared",), "does not clear the stale gradients first"),
    Mistake("clears_with_zeros", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    model.zero_grad(set_to_none=False)
    compute_loss().backward()
    no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    return no_grad, zero_grad''', ("cleared with zeros",), "zero_grad(set_to_none=False): unused looks like zero"),
    Mistake("returns_the_lists_swapped", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    model.zero_grad()
    compute_loss().backward()
    no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    return zero_grad, no_grad''', ("swapped",), "returns (zero_grad, no_grad)"),
    Mistake("leaves_the_names_unsorted", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    model.zero_grad()
    compute_loss().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    zero_grad = [n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any()]
    return no_grad, zero_grad''', ("sort",), "returns the names in the model's order"),
    Mistake("params_never_backward", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    model.zero_grad(set_to_none=True)
    loss = compute_loss()
    no_grad = sorted(name for name, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(name for name, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    return no_grad, zero_grad''', ("no backward pass reached the loss",), "computes the loss but never calls backward()"),
    Mistake("clears_after_backward", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    compute_loss().backward()
    model.zero_grad()
    no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    return no_grad, zero_grad''', ("cleared after backward()",), "clears the gradients after backward(), not before"),
    Mistake("decides_by_requires_grad", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    model.zero_grad()
    compute_loss().backward()
    no_grad = sorted(n for n, p in model.named_parameters() if not p.requires_grad)
    zero_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    return no_grad, zero_grad''', ("b is missing (not used at all", "d is missing (used only through .detach()"),
            "reads requires_grad, which the backward pass does not change"),
    # Exercise 4: micro-batches
    Mistake("no_loss_scaling", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for start in range(0, X.shape[0], chunk_size):
        loss_fn(model(X[start:start + chunk_size]), y[start:start + chunk_size]).backward()
    return [p.grad for p in model.parameters()]''', ("not scaled",), "backpropagates each chunk's mean loss unscaled"),
    Mistake("divides_by_the_number_of_chunks", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    chunks = list(zip(X.split(chunk_size), y.split(chunk_size)))
    for xb, yb in chunks:
        (loss_fn(model(xb), yb) / len(chunks)).backward()
    return [p.grad for p in model.parameters()]''', ("number of chunks",), "scales by 1/k instead of n_j/N"),
    Mistake("scales_by_chunk_size_only", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * len(xb)).backward()
    return [p.grad for p in model.parameters()]''', ("not divided by N",), "scales by n_j, forgets to divide by N"),
    Mistake("forgets_to_zero_first", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    N = X.shape[0]
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * (len(xb) / N)).backward()
    return [p.grad for p in model.parameters()]''', ("stale gradients were not cleared",),
            "does not clear the stale gradients before the first chunk"),
    Mistake("zeroes_inside_the_chunk_loop", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    N = X.shape[0]
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        model.zero_grad()
        (loss_fn(model(xb), yb) * (len(xb) / N)).backward()
    return [p.grad for p in model.parameters()]''', ("cleared inside the loop",), "zeroes inside the chunk loop"),
    Mistake("drops_the_last_chunk", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    N = X.shape[0]
    for start in range(0, N - chunk_size + 1, chunk_size):
        xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]
        (loss_fn(model(xb), yb) * (len(xb) / N)).backward()
    return [p.grad for p in model.parameters()]''', ("last, shorter chunk",), "loses the last, shorter chunk"),
    Mistake("runs_the_whole_batch", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    loss_fn(model(X), y).backward()
    return [p.grad for p in model.parameters()]''', ("never more than chunk_size",),
            "runs the model on the whole batch"),
    Mistake("scales_by_chunk_size_over_n", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    N = X.shape[0]
    for start in range(0, N, chunk_size):
        xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]
        loss = loss_fn(model(xb), yb)
        (loss * (chunk_size / N)).backward()
    return [p.grad for p in model.parameters()]''', ("chunk_size / N", "own size"),
            "scales every chunk by chunk_size / N, also the short last one"),
    Mistake("chunk_instead_of_split", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for xb, yb in zip(X.chunk(chunk_size), y.chunk(chunk_size)):
        (loss_fn(model(xb), yb) * (len(xb) / len(X))).backward()
    return [p.grad for p in model.parameters()]''', ("X.chunk(4) cuts X into 4 chunks",),
            "X.chunk(chunk_size) makes chunk_size chunks"),
    Mistake("inverts_the_weight", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * (len(X) / len(xb))).backward()
    return [p.grad for p in model.parameters()]''', ("inverse",), "multiplies by N / n_j"),
    Mistake("pairs_chunks_with_all_targets", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for xb in X.split(chunk_size):
        (loss_fn(model(xb), y) * (len(xb) / len(X))).backward()
    return [p.grad for p in model.parameters()]''', ("yb = y[start:start + chunk_size]",),
            "compares each chunk's predictions with all the targets"),
    Mistake("clears_after_the_last_chunk", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * (len(xb) / len(X))).backward()
    model.zero_grad()
    return [p.grad for p in model.parameters()]''', ("cleared after the last chunk",),
            "clears the gradients at the end"),
    Mistake("weights_chunks_oddly", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    for xb, yb in zip(X.split(chunk_size), y.split(chunk_size)):
        (loss_fn(model(xb), yb) * (len(xb) / chunk_size)).backward()
    return [p.grad for p in model.parameters()]''', ("by [1, 1, 0.5]", "expected n_j / N = [0.4, 0.4, 0.2]"),
            "a scaling nobody listed: the test shows the weight each chunk got"),
    # round 2 (issue 12): mistakes found by a second, independent run
    Mistake("snapshots_with_detach", "accumulate_backward", "test_accumulate_backward", PREDICTED + '''\
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()
        snapshots.append(x.grad.detach())
    return snapshots''', ("share its memory", "x.grad.clone()"), "believes x.grad.detach() is a copy"),
    Mistake("predicts_second_loss_replaces", "accumulate_backward", "test_predicted_grads", predicted(two_losses=12.0),
            ("two_losses", "add up"), "predicts that a second loss's backward replaces the first's gradient"),
    Mistake("zeroes_without_none_check", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss.item()''', ("p.grad is None before the first backward()", "if p.grad is not None"),
            "p.grad.zero_() without checking for None"),
    Mistake("forgets_return", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    loss.item()''', ("return loss.item()", "not NoneType"), "computes loss.item() but forgets `return`"),
    Mistake("backward_under_no_grad_to_inspect", "params_without_grad", "test_params_without_grad", '''\
def params_without_grad(model, compute_loss):
    model.zero_grad(set_to_none=True)
    with torch.no_grad():                  # we only inspect, nothing is trained
        compute_loss().backward()
    no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    return no_grad, zero_grad''', ("tracking off", "torch.no_grad()"), "runs loss and backward under torch.no_grad()"),
    Mistake("n_from_the_feature_dimension", "accumulated_gradient", "test_accumulated_gradient", '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    N = X.shape[1]
    for start in range(0, N, chunk_size):
        xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]
        (loss_fn(model(xb), yb) * (xb.shape[0] / N)).backward()
    return [p.grad for p in model.parameters()]''', ("X.shape[1]", "number of features"),
            "takes N from X.shape[1], the features, not the samples"),
    # --- round 3 of typical mistakes (issue 12 item 3)
    Mistake('snapshot_with_item', 'accumulate_backward', 'test_accumulate_backward', '''\
# Part A: your predictions, written before you run anything (a float, or None)
PREDICTED = {
    "three_passes": 12.0,        # each pass adds 2x = 4
    "two_losses": 16.0,          # 2x + 3x**2 = 4 + 12
    "cleared_in_loop": 4.0,      # x.grad = None before each pass: only the last pass is left
    "kept_reference": 8.0,       # g is x.grad itself, and the second pass adds into it in place
    "reference_then_none": 4.0,  # after x.grad = None the next pass makes a new tensor; g keeps the old one
    "non_leaf": None,            # only leaves get .grad (unless h.retain_grad())
}


# Part B
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()                   # adds this pass's gradient into x.grad
        snapshots.append(x.grad.item())  # a copy: the next pass changes x.grad in place
    return snapshots''',
            ('.item()', 'x.grad.clone()'), 'snapshots x.grad.item() (worked on a scalar x) instead of a tensor copy'),
    Mistake('predicts_reference_follows_after_none', 'accumulate_backward', 'test_predicted_grads', '''\
# Part A: your predictions, written before you run anything (a float, or None)
PREDICTED = {
    "three_passes": 12.0,        # each pass adds 2x = 4
    "two_losses": 16.0,          # 2x + 3x**2 = 4 + 12
    "cleared_in_loop": 4.0,      # x.grad = None before each pass: only the last pass is left
    "kept_reference": 8.0,       # g is x.grad itself, and the second pass adds into it in place
    "reference_then_none": 8.0,  # after x.grad = None the next pass makes a new tensor; g keeps the old one
    "non_leaf": None,            # only leaves get .grad (unless h.retain_grad())
}


# Part B
def accumulate_backward(f, x, k):
    snapshots = []
    for _ in range(k):
        f(x).backward()                   # adds this pass's gradient into x.grad
        snapshots.append(x.grad.clone())  # a copy: the next pass changes x.grad in place
    return snapshots''',
            ('new tensor',), 'predicts g keeps following x.grad after x.grad = None (8.0): the next pass makes a new tensor'),
    Mistake('scales_grad_in_place', 'train_step', 'test_train_step', '''\
def train_step(params, loss_fn, lr):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.grad *= lr
            p -= p.grad
    return loss.item()''',
            ('scaled in place',), 'multiplies p.grad by lr in place, then subtracts it: the gradient left in .grad is lr times too small'),
    Mistake('no_grad_called_not_entered', 'train_step', 'test_train_step', '''\
def train_step(params, loss_fn, lr):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    torch.no_grad()
    for p in params:
        p -= lr * p.grad
    return loss.item()''',
            ('with torch.no_grad():',), 'calls torch.no_grad() as a statement instead of `with torch.no_grad():` (update outside no_grad)'),
    Mistake('lists_before_backward', 'params_without_grad', 'test_params_without_grad', '''\
def params_without_grad(model, compute_loss):
    model.zero_grad(set_to_none=True)
    no_grad = sorted(name for name, p in model.named_parameters() if p.grad is None)
    zero_grad = sorted(name for name, p in model.named_parameters() if p.grad is not None and not p.grad.any())
    compute_loss().backward()
    return no_grad, zero_grad''',
            ('built before backward()',), 'builds both lists before the backward pass (lines in the wrong order)'),
    Mistake('integer_division_weight', 'accumulated_gradient', 'test_accumulated_gradient', '''\
def accumulated_gradient(model, loss_fn, X, y, chunk_size):
    model.zero_grad()
    N = X.shape[0]
    for start in range(0, N, chunk_size):
        xb, yb = X[start:start + chunk_size], y[start:start + chunk_size]
        loss = loss_fn(model(xb), yb)
        (loss * (xb.shape[0] // N)).backward()
    return [p.grad for p in model.parameters()]''',
            ('[0, 0, 0]', 'n_j / N', 'integer division'), 'scales each chunk by xb.shape[0] // N (integer division: 0), wrong loss scaling'),

    Mistake("return_inside_update_loop", "train_step", "test_train_step", '''\
def train_step(params, loss_fn, lr):
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    loss = loss_fn()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            return loss.item()''',
            ("only the first moved", "inside the loop"), "`return loss.item()` indented into the update loop: only params[0] moves"),
]
