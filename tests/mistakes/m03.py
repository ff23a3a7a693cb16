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
]
