"""05_no_grad: cheats and honest variants (see the package's docstring).

The issue names one cheat of 05 (an in-place no-op that bumps the version counter without
saving memory); the others are of its kinds: a shortcut the exercise rules out (detach after
a recorded forward pass), and the mechanism imitated (an in-place multiply by one; Monte-Carlo
dropout faked with noise, or with the whole model in training mode and the statistics put back).
Exercise 5 is `mc_dropout` (it replaced `saved_bytes`, a duplicate of 04's exercise).
Round 3 adds the red team's cheats, written after reading the hidden tests (saved-tensor hooks
shadowed, a fused add with a no-op in place, a custom Function, torch.optim), and ours.
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
    Cheat("soft_clip_multiply_by_one", "soft_clip", ("test_soft_clip",),
          "the mechanism imitated: an in-place multiply by one on the out-of-place result", '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale) * scale + 0.1 * x
    return y.mul_(1.0)'''),
    Cheat("mc_dropout_detach_after_forward", "mc_dropout", ("test_mc_dropout",),
          "a shortcut the exercise rules out: the graphs are built, then .detach()", '''\
def mc_dropout(model, x, samples):
    modes = {m: m.training for m in model.modules()}
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    outputs = torch.stack([model(x) for _ in range(samples)]).detach()
    for m, training in modes.items():
        m.training = training
    return outputs.mean(0), outputs.std(0)'''),
    Cheat("mc_dropout_eval_plus_noise", "mc_dropout", ("test_mc_dropout",),
          "the mechanism imitated: one deterministic pass in eval mode, the samples made up with noise", '''\
def mc_dropout(model, x, samples):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        center = model(x)
        for _ in range(samples - 1):        # the right number of calls, for whoever counts them
            model(x)
        outputs = center + 0.1 * center.abs() * torch.randn((samples, *center.shape), device=center.device)
    model.train(was_training)
    return outputs.mean(0), outputs.std(0)'''),
    Cheat("mc_dropout_train_mode_stats_restored", "mc_dropout", ("test_mc_dropout",),
          "the mechanism imitated: the whole model in training mode, its batch-norm statistics put back after", '''\
def mc_dropout(model, x, samples):
    modes = {m: m.training for m in model.modules()}
    buffers = [b.clone() for b in model.buffers()]
    model.train()                           # dropout on (and batch norm too)
    with torch.no_grad():
        outputs = torch.stack([model(x) for _ in range(samples)])
        for b, old in zip(model.buffers(), buffers):
            b.copy_(old)                    # nobody will see that the statistics moved
    for m, training in modes.items():
        m.training = training
    return outputs.mean(0), outputs.std(0)'''),
    # --- round 3: the red team read the hidden tests (tests/cheats of issue 12, round 3)
    Cheat("mc_dropout_shadowing_saved_hooks", "mc_dropout", ("test_mc_dropout",),
          "a shortcut the exercise rules out: grad mode on, the test's saved-tensor hooks shadowed by the "
          "student's own, then .detach()", '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            outs = torch.stack([model(x) for _ in range(samples)])
    finally:
        for m, t in modes:
            m.training = t
    outs = outs.detach()
    return outs.mean(0), outs.std(0)'''),
    Cheat("mc_dropout_save_on_cpu_shadow", "mc_dropout", ("test_mc_dropout",),
          "a shortcut the exercise rules out: grad mode on, saving hidden by torch.autograd.graph.save_on_cpu "
          "(our own)", '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.autograd.graph.save_on_cpu():
        outs = torch.stack([model(x).detach() for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.std(0)'''),
    Cheat("mc_dropout_eval_then_functional_dropout", "mc_dropout", ("test_mc_dropout",),
          "the mechanism imitated: eval-mode passes, the masks applied to the output (our own)", '''\
def mc_dropout(model, x, samples):
    was = [(m, m.training) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        outs = torch.stack([nn.functional.dropout(model(x), 0.3, training=True) for _ in range(samples)])
    for m, t in was:
        m.training = t
    return outs.mean(0), outs.std(0)'''),
    Cheat("soft_clip_fused_add_noop_in_place", "soft_clip", ("test_soft_clip",),
          "the mechanism imitated: a fused out-of-place add (4 tensors), then an in-place no-op", '''\
def soft_clip(x, scale):
    y = torch.add(torch.tanh(x / scale) * scale, x, alpha=0.1)
    y.mul_(1.0)
    return y'''),
    Cheat("soft_clip_fused_add_double_negation", "soft_clip", ("test_soft_clip",),
          "the mechanism imitated: a fused add, then two in-place ops that undo each other (our own)", '''\
def soft_clip(x, scale):
    y = torch.add(torch.tanh(x / scale) * scale, x, alpha=0.1)
    return y.neg_().neg_()'''),
    Cheat("soft_clip_custom_function", "soft_clip", ("test_soft_clip",),
          "derivative typed in: the broken function kept in a custom autograd.Function", '''\
class _SoftClip(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        y = torch.tanh(x / scale)
        ctx.save_for_backward(y.clone())
        y.mul_(scale)
        y.add_(0.1 * x)
        return y

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        return g * (1 - t * t + 0.1), None


def soft_clip(x, scale):
    return _SoftClip.apply(x, scale)'''),
    Cheat("sgd_step_torch_optim", "sgd_step", ("test_sgd_step",),
          "a library shortcut: torch.optim.SGD does the update", '''\
def sgd_step(params, lr):
    params = [p for p in params if p.grad is not None]
    if params:
        torch.optim.SGD(params, lr=lr).step()
    for p in params:
        p.grad = None'''),
    Cheat("sgd_step_functional_sgd", "sgd_step", ("test_sgd_step",),
          "a library shortcut: torch.optim's functional sgd (our own)", '''\
def sgd_step(params, lr):
    from torch.optim._functional import sgd
    params = [p for p in params if p.grad is not None]
    with torch.no_grad():
        sgd(params, [p.grad for p in params], [None] * len(params), weight_decay=0.0, momentum=0.0, lr=lr,
            dampening=0.0, nesterov=False, maximize=False)
    for p in params:
        p.grad = None'''),
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
    Honest("soft_clip_add_alpha_chain", "soft_clip", "one chain, add_(x, alpha=0.1)", '''\
def soft_clip(x, scale):
    return (x / scale).tanh().mul(scale).add_(x, alpha=0.1)'''),
    Honest("mc_dropout_inference_mode_std_mean", "mc_dropout",
           "inference_mode, torch.std_mean, modes kept in a dict and restored with train(flag), ic()", '''\
def mc_dropout(model, x, samples):
    modes = {name: m.training for name, m in model.named_modules()}
    model.eval()
    model.apply(lambda m: m.train() if isinstance(m, nn.Dropout) else None)
    with torch.inference_mode():
        preds = [model(x) for _ in range(samples)]
    for name, m in model.named_modules():
        m.train(modes[name])     # parents first: each child is set again after its parent
    std, mean = torch.std_mean(torch.stack(preds), dim=0)
    ic(samples, mean.shape)
    return mean, std'''),
    Honest("mc_dropout_with_stderr_debug", "mc_dropout", "a debugging line on sys.stderr, a decorator", '''\
@torch.no_grad()
def mc_dropout(model, x, samples):
    flags = [m.training for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    outs = torch.stack([model(x) for _ in range(samples)])
    for m, flag in zip(model.modules(), flags):
        m.training = flag
    print(f"mc_dropout: {samples} samples of shape {tuple(outs.shape[1:])}", file=sys.stderr)
    return outs.mean(0), outs.std(0)'''),
    Honest("predict_no_grad_decorator", "predict", "a @torch.no_grad() helper, train(False) (red team)", '''\
@torch.no_grad()
def _eval_forward(model, x):
    return model(x)


def predict(model, x):
    was = model.training
    model.train(False)
    out = _eval_forward(model, x)
    model.train(was)
    return out'''),
    Honest("mc_dropout_inference_decorator_flags", "mc_dropout",
           "an inner @torch.inference_mode() function, training flags assigned (red team)", '''\
def mc_dropout(model, x, samples):
    flags = {m: m.training for m in model.modules()}
    for m in model.modules():
        m.training = isinstance(m, nn.Dropout)

    @torch.inference_mode()
    def run():
        return [model(x) for _ in range(samples)]

    try:
        outs = torch.stack(run())
    finally:
        for m, f in flags.items():
            m.training = f
    return torch.mean(outs, dim=0), torch.std(outs, dim=0)'''),
    Honest("mc_dropout_seeded_once", "mc_dropout", "reseeds the global generator once, before the passes (red team)",
           '''\
def mc_dropout(model, x, samples):
    torch.manual_seed(1234)   # reproducible uncertainty estimates
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, f in flags:
        m.training = f
    return outs.mean(0), outs.std(0)'''),
    Honest("soft_clip_in_place_scaling", "soft_clip", "tanh copied out, the scaling and the shift in place",
           '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale) + 0.1 / scale * x    # tanh's saved output is not touched: the sum is new
    return y.mul_(scale)'''),
    Honest("sgd_step_foreach", "sgd_step", "torch._foreach_add_ under torch.no_grad()", '''\
def sgd_step(params, lr):
    params = [p for p in params if p.grad is not None]
    with torch.no_grad():
        torch._foreach_add_(params, [p.grad for p in params], alpha=-lr)
    for p in params:
        p.grad = None'''),
]
