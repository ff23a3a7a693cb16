"""05_no_grad: cheats and honest variants (see the package's docstring).

The issue names one cheat of 05 (an in-place no-op that bumps the version counter without
saving memory); the others are of its kinds: a shortcut the exercise rules out (detach after
a recorded forward pass), and the mechanism imitated (an in-place multiply by one; Monte-Carlo
dropout faked with noise, or with the whole model in training mode and the statistics put back).
Exercise 5 is `mc_dropout` (it replaced `saved_bytes`, a duplicate of 04's exercise).
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
]
