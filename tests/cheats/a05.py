"""05_no_grad: cheats and honest variants (see the package's docstring).

The issue names no cheat of 05; these two are of its kinds: a shortcut the exercise rules
out (detach after a recorded forward pass), and the mechanism imitated (an in-place no-op
that bumps the version counter without saving any memory).
"""

from . import Cheat, Honest

SLUG = "05_no_grad"

CHEATS = [
    Cheat("predict_detach_after_forward", "predict", ("test_predict",),
          "a shortcut the exercise rules out: the graph is built, then .detach()", '''\
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x).detach()          # no grad_fn on what I return
    model.train(was_training)
    return out'''),
    Cheat("soft_clip_noop_in_place", "soft_clip", ("test_soft_clip",),
          "the mechanism imitated: an in-place no-op bumps the version counter, no memory saved", '''\
def soft_clip(x, scale):
    y = scale * torch.tanh(x / scale) + 0.1 * x
    y.add_(0.0)          # "modified in place at least once"
    return y'''),
]

HONEST = [
    Honest("predict_no_grad_ic", "predict", "torch.no_grad() instead of inference_mode, ic()", '''\
def predict(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x)
    model.train(was_training)
    ic(was_training, out.shape)
    return out'''),
    Honest("sgd_step_data", "sgd_step", "a .data update instead of torch.no_grad()", '''\
def sgd_step(params, lr):
    for p in params:
        if p.grad is not None:
            p.data.sub_(lr * p.grad)
            p.grad = None'''),
    Honest("sgd_step_inference_mode", "sgd_step", "torch.inference_mode() for the update", '''\
def sgd_step(params, lr):
    with torch.inference_mode():
        for p in params:
            if p.grad is None:
                continue
            p.add_(p.grad, alpha=-lr)
            p.grad = None'''),
    Honest("freeze_with_prints", "freeze_all_but_last", "requires_grad assigned, print()", '''\
def freeze_all_but_last(model):
    last = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    for name, p in model.named_parameters():
        p.requires_grad = False
    for p in last.parameters():
        p.requires_grad = True
    print("training only", last)
    return model'''),
    Honest("soft_clip_plus_equals", "soft_clip", "out-of-place mul, then +=", '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale).mul(scale)   # a new tensor: tanh's saved output stays intact
    y += 0.1 * x
    return y'''),
    Honest("saved_bytes_with_stderr_debug", "saved_bytes", "a debugging line on sys.stderr", '''\
def saved_bytes(fn, *args):
    sizes = []
    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    print(f"saved_bytes: {len(sizes)} tensors saved", file=sys.stderr)
    return out, sum(sizes)'''),
]
