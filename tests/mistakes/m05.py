"""05_no_grad: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

SLUG = "05_no_grad"

_FREEZE, _FREEZE_TEST = "freeze_all_but_last", "test_freeze_all_but_last"
_SGD, _SGD_TEST = "sgd_step", "test_sgd_step"
_PREDICT, _PREDICT_TEST = "predict", "test_predict"
_CLIP, _CLIP_TEST = "soft_clip", "test_soft_clip"
_MC, _MC_TEST = "mc_dropout", "test_mc_dropout"

MISTAKES = [
    # --- Exercise 1: freeze all but the last Linear
    Mistake("freeze_first_linear", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    for p in model.parameters():
        p.requires_grad_(False)
    for p in first.parameters():
        p.requires_grad_(True)
    return model''', ("wrong parameters", "last nn.Linear"), "unfreezes the first Linear, not the last"),
    Mistake("freeze_last_module", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model[-1].parameters():
        p.requires_grad_(True)
    return model''', ("model[-1]", "last nn.Linear"), "takes model[-1] for the last Linear"),
    Mistake("freeze_last_weight_attribute", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    for p in model.parameters():
        p.requires_grad_(False)
    model[-1].weight.requires_grad_(True)
    model[-1].bias.requires_grad_(True)
    return model''', ("not always a Linear", "model.modules()"), "model[-1].weight: the last module is a Softmax"),
    Mistake("freeze_others_only", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    keep = {id(p) for p in last.parameters()}
    for p in model.parameters():
        if id(p) not in keep:
            p.requires_grad_(False)
    return model''', ("frozen before", "requires_grad_(True)"), "never unfreezes a head that was frozen before"),
    Mistake("freeze_weights_only", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            p.requires_grad_(False)
    for p in last.parameters():
        p.requires_grad_(True)
    return model''', ("biases", "not only the weights"), "freezes the weights and forgets the biases"),
    Mistake("freeze_by_eval", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    model.eval()
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    last.train()
    for p in last.parameters():
        p.requires_grad_(True)
    return model''', ("nothing was frozen", "model.eval() freezes nothing"), "believes eval() freezes parameters"),
    Mistake("freeze_unfreeze_then_freeze_all", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for p in linears[-1].parameters():
        p.requires_grad_(True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model''', ("freeze first", "then unfreeze"), "unfreezes the last Linear, then freezes everything (red team)"),
    Mistake("freeze_top_level_children", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    for m in model.children():
        if isinstance(m, nn.Linear):
            for p in m.parameters():
                p.requires_grad_(False)
    for p in last.parameters():
        p.requires_grad_(True)
    return model''', ("but so do", "nested containers"), "freezes only the top-level Linears"),
    Mistake("freeze_last_child", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    last = list(model.children())[-1]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in last.parameters():
        p.requires_grad_(True)
    return model''', ("nested sequential", "model.modules()"), "the last child (a Softmax) for the last Linear"),
    Mistake("freeze_indexes_generator", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.modules()[-1].parameters():
        p.requires_grad_(True)
    return model''', ("generators", "make a list"), "indexes the generator model.modules()"),
    # --- Exercise 2: sgd_step
    Mistake("sgd_outside_no_grad", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    for p in params:
        if p.grad is None:
            continue
        p -= lr * p.grad
        p.grad = None''', ("outside torch.no_grad()",), "updates outside no_grad"),
    Mistake("sgd_rebinds_name", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p = p - lr * p.grad
            p.grad = None''', ("only rebinds", "in place"), "p = p - lr * p.grad rebinds the loop variable"),
    Mistake("sgd_keeps_grad", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad''', ("not cleared", "p.grad = None"), "does not clear .grad"),
    Mistake("sgd_two_loops_over_iterator", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
    for p in params:            # a second pass over an iterator: it is already empty
        p.grad = None''', ("iterator", "one loop"), "iterates the parameters twice (empty the second time)"),
    Mistake("sgd_uphill", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p += lr * p.grad
            p.grad = None''', ("uphill",), "adds the gradient instead of subtracting it"),
    Mistake("sgd_data_assignment", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    for p in params:
        if p.grad is None:
            continue
        p.data = p.data - lr * p.grad
        p.grad = None''', ("new memory", "in place"), "p.data = ... replaces the storage"),
    Mistake("sgd_no_skip_of_none", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None''', ("p.grad none", "skip"), "does not skip parameters without a gradient"),
    Mistake("sgd_grad_mode_left_off", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    torch.set_grad_enabled(False)
    for p in params:
        if p.grad is None:
            continue
        p -= lr * p.grad
        p.grad = None''', ("grad mode is still off",), "switches grad mode off for good"),
    Mistake("sgd_clears_before_update", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p.grad = None
            p -= lr * p.grad''', ("cleared", "before the update read it"), "clears p.grad before reading it (red team)"),
    Mistake("sgd_zeroes_before_update", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p.grad.zero_()
            p -= lr * p.grad''', ("all zeros", "zeroed (zero_()) before the update"), "zeroes p.grad before the update"),
    Mistake("sgd_without_lr", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p -= p.grad
            p.grad = None''', ("4 times the expected step", "learning rate was left out"), "forgets the learning rate"),
    Mistake("sgd_updates_twice", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p -= lr * p.grad
            p.data -= lr * p.grad
            p.grad = None''', ("2 times the expected step", "ran twice"), "applies the update twice"),
    # --- Exercise 3: predict
    Mistake("predict_no_eval", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    with torch.inference_mode():
        return model(x)''', ("model.eval()",), "forgets eval(): batch norm and dropout in training mode"),
    Mistake("predict_grad_on", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    return out''', ("saved for backward", "torch.no_grad()"), "runs the forward pass with autograd on"),
    Mistake("predict_detach_late", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x).detach()
    model.train(was_training)
    return out''', (".detach() on the output comes too late",), "detaches the output after building the graph"),
    Mistake("predict_left_in_eval", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)''', ("left in eval mode", "model.train(was_training)"), "does not restore training mode"),
    Mistake("predict_always_train", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    model.eval()
    with torch.no_grad():
        out = model(x)
    model.train()
    return out''', ("must stay in eval mode",), "always puts the model in training mode afterwards"),
    Mistake("predict_grad_mode_left_off", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    was_training = model.training
    model.eval()
    torch.set_grad_enabled(False)
    out = model(x)
    model.train(was_training)
    return out''', ("grad mode is still off",), "switches grad mode off for good"),
    Mistake("predict_reads_mode_after_eval", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    model.eval()
    was_training = model.training
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        model.train(was_training)
    return out''', ("remember model.training before the call",), "reads model.training after eval() (red team)"),
    # --- Exercise 4: soft_clip
    Mistake("clip_scales_tanh_in_place", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale)
    y.mul_(scale)
    y.add_(0.1 * x)
    return y''', ("saves its output", "out of place"), "modifies tanh's saved output in place"),
    Mistake("clip_no_in_place", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    return scale * torch.tanh(x / scale) + 0.1 * x''', ("never modified in place",), "no in-place operation left"),
    Mistake("clip_input_in_place", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    x.div_(scale)
    y = torch.tanh(x) * scale
    y.add_(0.1 * scale * x)
    return y''', ("modified its input x in place",), "divides the input in place"),
    Mistake("clip_detached_tanh", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale).detach()
    y.mul_(scale)
    y.add_(0.1 * x)
    return y''', ("tanh part is missing",), "detaches tanh's output to silence the error"),
    Mistake("clip_scaled_through_data", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale)
    y.data.mul_(scale)
    y.data.add_(0.1 * x)
    return y''', ("_version is 0", ".data"), "modifies tanh's output through .data, hidden from autograd"),
    Mistake("clip_noop_in_place", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = scale * torch.tanh(x / scale) + 0.1 * x
    y.add_(0)
    return y''', ("saves no memory", "at most", "add_(0)"), "an in-place no-op to satisfy the version counter"),
    Mistake("clip_detaches_x_in_shift", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale) * scale
    y.add_(0.1 * x.detach())
    return y''', ("0.1 * x term carries no gradient", "x.detach()"), "detaches x in the shift (red team)"),
    Mistake("clip_forgets_scale", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale).clone()
    y.add_(0.1 * x)
    return y''', ("not multiplied by scale",), "forgets to multiply tanh by scale"),
    Mistake("clip_scales_after_shift", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale) + 0.1 * x
    y.mul_(scale)
    return y''', ("applied after the shift",), "scales the shifted sum"),
    Mistake("clip_on_fresh_leaf", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    x = x.detach().requires_grad_(True)
    y = torch.tanh(x / scale) * scale
    y.add_(0.1 * x)
    return y''', ("x.grad is none", "not connected to the x you were given"), "works on a fresh leaf"),
    # --- Exercise 5: mc_dropout
    Mistake("mc_eval_only", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.std(0)''', ("dropout was in eval mode", "std is 0"), "dropout off: eval() only"),
    Mistake("mc_whole_model_train", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.std(0)''', ("batch norm ran in training mode",), "the whole model in training mode"),
    Mistake("mc_grad_on", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0).detach(), outs.std(0).detach()''', ("saved for backward", "torch.no_grad()"),
            "forward passes with autograd on, detached afterwards"),
    Mistake("mc_population_std", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.std(0, unbiased=False)''', ("population standard deviation", "bessel"),
            "the population std (no Bessel correction)"),
    Mistake("mc_std_over_everything", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(), outs.std()''', ("shape of model(x)", "dim 0"), "mean and std over every number at once"),
    Mistake("mc_restores_model_flag_only", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    was_training = model.training
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    model.train(was_training)
    return outs.mean(0), outs.std(0)''', ("each module's own training flag",), "restores only the model's own flag"),
    Mistake("mc_left_in_eval", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    model.eval()
    return outs.mean(0), outs.std(0)''', ("left in eval mode",), "leaves the model in eval mode"),
    Mistake("mc_one_pass_repeated", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        out = model(x)
        outs = out.expand(samples, *out.shape)
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.std(0)''', ("one forward pass per sample",), "one forward pass reused for every sample"),
    Mistake("mc_cat_instead_of_stack", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.cat([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.std(0)''', ("(6, 2)", "dim 0"), "torch.cat instead of torch.stack (red team)"),
    Mistake("mc_mean_std_swapped", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.std(0), outs.mean(0)''', ("swapped",), "returns (std, mean)"),
    Mistake("mc_variance", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    with torch.no_grad():
        outs = torch.stack([model(x) for _ in range(samples)])
    for m, t in modes:
        m.training = t
    return outs.mean(0), outs.var(0)''', ("variance",), "the variance for the standard deviation"),
    Mistake("mc_last_sample_as_mean", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    outs = []
    with torch.no_grad():
        for _ in range(samples):
            out = model(x)
            outs.append(out)
    for m, t in modes:
        m.training = t
    return out, torch.stack(outs).std(0)''', ("single forward pass",), "the loop's last output for the mean"),
    # --- round 2 of the red team (issue 12): the causes are verified before they are named
    Mistake("freeze_module_attribute", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    model.requires_grad = False          # a plain attribute on the Module: freezes nothing
    linears[-1].requires_grad = True
    return model''', ("plain Python attribute", "requires_grad_(False)"),
            "sets model.requires_grad = False (a new attribute) instead of requires_grad_(False)"),
    Mistake("freeze_membership_on_tensors", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    keep = list(last.parameters())
    for p in model.parameters():
        p.requires_grad_(p in keep)      # `in` compares tensors with ==
    return model''', ("p in a_list_of_tensors", "identities"),
            "decides with `p in list_of_tensors`, which compares tensors element by element"),
    Mistake("sgd_truthiness_as_none_check", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad:                     # "has a gradient?"
                p -= lr * p.grad
                p.grad = None''', ("`if p.grad:`", "is None"), "uses `if p.grad:` as the None check"),
    Mistake("predict_eval_without_parentheses", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    was_training = model.training
    model.eval
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        model.train(was_training)
    return out''', ("without the parentheses", "model.eval()"), "writes model.eval without the parentheses"),
    Mistake("soft_clip_shift_uses_y", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale) * scale
    y.add_(0.1 * y)
    return y''', ("0.1 * y", "0.1 * x"), "shifts by 0.1 * y instead of 0.1 * x"),
    Mistake("mc_reseeds_inside_the_loop", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    outs = []
    with torch.no_grad():
        for _ in range(samples):
            torch.manual_seed(0)   # reproducible
            outs.append(model(x))
    for m, t in modes:
        m.training = t
    outputs = torch.stack(outs)
    return outputs.mean(0), outputs.std(0)''', ("same output", "torch.manual_seed", "Seed at most once"),
            "calls torch.manual_seed(0) before every forward pass: every mask is the same"),
]

# Round 3 (issue 12 item 3): the evaluator's fresh mistakes, and two that passed every visible test (gaps).
MISTAKES += [
    Mistake("freeze_head_weight_only", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for p in model.parameters():
        p.requires_grad_(False)
    linears[-1].weight.requires_grad_(True)
    return model''', ("stays frozen", "2.2.bias", "weight and bias"), "unfreezes only the last Linear's weight"),
    Mistake("freeze_by_detach_rebind", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    keep = {id(p) for p in linears[-1].parameters()}
    for p in model.parameters():
        if id(p) not in keep:
            p = p.detach()
    for p in linears[-1].parameters():
        p.requires_grad_(True)
    return model''', ("nothing was frozen", "p = p.detach()", "local name"), "freezes with p = p.detach()"),
    Mistake("freeze_linears_only", _FREEZE, _FREEZE_TEST, '''\
def freeze_all_but_last(model):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for m in linears[:-1]:
        for p in m.parameters():
            p.requires_grad_(False)
    for p in linears[-1].parameters():
        p.requires_grad_(True)
    return model''', ("batch norm", "not only those of the nn.Linear layers"),
            "freezes only the other Linear layers: batch norm stays trainable (gap)"),
    Mistake("sgd_zeroes_instead_of_none", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            p -= lr * p.grad
            p.grad.zero_()''', ("tensor of zeros", "p.grad = None"), "zero_() where the exercise asks for None"),
    Mistake("sgd_return_on_none", _SGD, _SGD_TEST, '''\
def sgd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                return
            p -= lr * p.grad
            p.grad = None''', ("never reached w", "continue", "`return`"),
            "`return` instead of `continue` on a None gradient (gap)"),
    Mistake("predict_restores_before_forward", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    was_training = model.training
    model.eval()
    model.train(was_training)
    with torch.inference_mode():
        out = model(x)
    return out''', ("puts the mode back", "before model(x) runs", "after the forward pass"),
            "restores the mode before the forward pass"),
    Mistake("predict_eval_after_forward", _PREDICT, _PREDICT_TEST, '''\
def predict(model, x):
    was_training = model.training
    with torch.inference_mode():
        out = model(x)
    model.eval()
    model.train(was_training)
    return out''', ("only after model(x)", "before the forward pass"), "calls eval() after the forward pass"),
    Mistake("clip_shift_under_no_grad", _CLIP, _CLIP_TEST, '''\
def soft_clip(x, scale):
    y = torch.tanh(x / scale) * scale
    with torch.no_grad():
        y.add_(0.1 * x)
    return y''', ("0.1 * x term carries no gradient",),
            "wraps the in-place shift in torch.no_grad()"),
    Mistake("mc_eval_after_enabling_dropout", _MC, _MC_TEST, '''\
def mc_dropout(model, x, samples):
    modes = [(module, module.training) for module in model.modules()]
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.train()
    model.eval()
    try:
        with torch.no_grad():
            outputs = torch.stack([model(x) for _ in range(samples)])
    finally:
        for module, training in modes:
            module.training = training
    return outputs.mean(dim=0), outputs.std(dim=0)''', ("put the nn.Dropout layers back in training mode",),
            "switches dropout on, then model.eval() switches it off"),
]
