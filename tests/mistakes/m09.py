"""09_hooks_debugging: typical mistakes and what the visible tests must say (see the package's docstring)."""

from cheats.a09 import NORMS_FORWARD_PATCHED

from . import Mistake

SLUG = "09_hooks_debugging"

_WHERE, _WHERE_TEST = "safe_where", "test_safe_where"
_NORMS, _NORMS_TEST = "layer_grad_norms", "test_layer_grad_norms"
_NONE, _NONE_TEST = "params_without_grad", "test_params_without_grad"
_CLIP, _CLIP_TEST = "clip_grad_hook", "test_clip_grad_hook"

_NORMS_HEAD = '''\
def layer_grad_norms(model, loss_fn, batch):
    X, Y = batch
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
'''

_ZERO_NONE = "    model.zero_grad(set_to_none=True)\n"


def _none(clear: str = "", keep: str = "p.requires_grad and p.grad is None") -> str:
    """params_without_grad: `clear` before the backward pass, the names of the parameters that pass `keep`."""
    return f'''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
{clear}    loss_fn(model(X), Y).backward()
    return [n for n, p in model.named_parameters() if {keep}]'''


MISTAKES = [
    # --- Exercise 1: safe_where
    Mistake("where_single", _WHERE, _WHERE_TEST, '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    return torch.where(cond, f(x), g(x))''', ("single torch.where", "detect_anomaly says", "f_safe"),
            "one torch.where: the unselected branch's NaN derivative times 0"),
    Mistake("where_eps_instead_of_inner_where", _WHERE, _WHERE_TEST, '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    eps = 1e-6
    return torch.where(cond, f(x + eps), g(x - eps))''', ("single torch.where", "eps"),
            "an eps added to x instead of the inner where"),
    Mistake("where_eps_on_selected_values", _WHERE, _WHERE_TEST, '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    x_f = torch.where(cond, x, torch.full_like(x, f_safe))
    x_g = torch.where(cond, torch.full_like(x, g_safe), x)
    return torch.where(cond, f(x_f + 1e-2), g(x_g))''', ("close to sqrt(x)", "eps"),
            "an eps that shifts the selected values"),
    Mistake("where_inner_reversed", _WHERE, _WHERE_TEST, '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    x_f = torch.where(cond, torch.full_like(x, f_safe), x)
    x_g = torch.where(cond, x, torch.full_like(x, g_safe))
    return torch.where(cond, f(x_f), g(x_g))''', ("wrong way round",), "the inner where's branches swapped"),
    Mistake("where_detached", _WHERE, _WHERE_TEST, '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    with torch.no_grad():
        x_f = torch.where(cond, x, torch.full_like(x, f_safe))
        x_g = torch.where(cond, torch.full_like(x, g_safe), x)
        return torch.where(cond, f(x_f), g(x_g))''', ("does not require grad", "no_grad"),
            "computes the result under no_grad"),
    Mistake("where_grad_masked_by_hook", _WHERE, _WHERE_TEST, '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    xf, xg = x.view_as(x), x.view_as(x)
    xf.register_hook(lambda gr: torch.where(cond, gr, 0.0))
    xg.register_hook(lambda gr: torch.where(cond, 0.0, gr))
    return torch.where(cond, f(xf), g(xg))''', ("returned NaN or inf", "not safe", "f_safe"),
            "calls f on unsafe entries and masks the NaN out of the gradient with hooks"),
    # --- Exercise 2: layer_grad_norms
    Mistake("norms_backward_order", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    norms, handles = [], []
    for layer in layers:
        handles.append(layer.register_full_backward_hook(lambda m, gi, go: norms.append(go[0].norm().item())))
    loss_fn(model(X), Y).backward()
    for h in handles:
        h.remove()
    return norms''', ("reverse order", "last layer to the first"), "appends in the order the hooks fire"),
    Mistake("norms_of_grad_input", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    norms = [None] * len(layers)
    handles = [layer.register_full_backward_hook(lambda m, gi, go, k=k: norms.__setitem__(k, gi[0].norm().item()))
               for k, layer in enumerate(layers)]
    try:
        loss_fn(model(X), Y).backward()
    finally:
        for h in handles:
            h.remove()
    return norms''', ("grad_input[0]", "grad_output[0]"), "reads grad_input instead of grad_output"),
    Mistake("norms_hooks_not_removed", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    norms = [None] * len(layers)
    for i, layer in enumerate(layers):
        layer.register_full_backward_hook(lambda m, gi, go, i=i: norms.__setitem__(i, go[0].norm().item()))
    loss_fn(model(X), Y).backward()
    return norms''', ("still registered", "handle.remove()"), "never removes the hooks"),
    Mistake("norms_of_weight_grads", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    model.zero_grad(set_to_none=True)
    loss_fn(model(X), Y).backward()
    return [layer.weight.grad.norm().item() for layer in layers]''', ("weights' .grad",),
            "returns the norms of the weights' .grad"),
    Mistake("norms_of_output_values", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    norms = [None] * len(layers)
    handles = [layer.register_forward_hook(lambda m, i, o, k=k: norms.__setitem__(k, o.data.norm().item()))
               for k, layer in enumerate(layers)]
    loss_fn(model(X), Y).backward()
    for h in handles:
        h.remove()
    return norms''', ("outputs (their values", "not of the gradients"), "norms of the outputs' .data"),
    Mistake("norms_hook_after_backward", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    outputs = {}
    handles = [layer.register_forward_hook(lambda m, i, o, k=k: outputs.__setitem__(k, o))
               for k, layer in enumerate(layers)]
    loss_fn(model(X), Y).backward()
    norms = [None] * len(layers)
    for k, out in outputs.items():
        out.register_hook(lambda grad, k=k: norms.__setitem__(k, grad.norm().item()))
    for h in handles:
        h.remove()
    return norms''', ("after backward() never fires",), "registers the tensor hooks after backward"),
    Mistake("norms_grad_input_none_skipped", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    norms = [None] * len(layers)

    def mk(k):
        def hook(m, gin, gout):
            if gin[0] is not None:
                norms[k] = gin[0].norm().item()
        return hook

    hs = [layer.register_full_backward_hook(mk(k)) for k, layer in enumerate(layers)]
    try:
        loss_fn(model(X), Y).backward()
    finally:
        for h in hs:
            h.remove()
    return norms''', ("grad_input[0]", "grad_output[0]", "INPUT"),
            "reads grad_input, skipping the None of the first layer"),
    Mistake("norms_hooks_removed_before_backward", _NORMS, _NORMS_TEST, _NORMS_HEAD + '''\
    norms = [None] * len(layers)
    handles = []

    def watch(i):
        def on_forward(module, inputs, output):
            handles.append(output.register_hook(lambda g: norms.__setitem__(i, g.norm().item())))
        return on_forward

    try:
        for i, layer in enumerate(layers):
            handles.append(layer.register_forward_hook(watch(i)))
        pred = model(X)
    finally:
        for h in handles:
            h.remove()
    loss_fn(pred, Y).backward()
    return norms''', ("removed before backward()",), "removes the hooks right after the forward pass"),
    Mistake("norms_forward_replaced", _NORMS, _NORMS_TEST, NORMS_FORWARD_PATCHED, ("forward was replaced",),
            "replaces each layer's forward and never restores it"),
    # --- Exercise 3: params_without_grad
    Mistake("none_stale_grads", _NONE, _NONE_TEST, _none(),
            ("stale", "set_to_none=True"), "does not clear the stale .grad first"),
    Mistake("none_zero_grad_zeros", _NONE, _NONE_TEST, _none("    model.zero_grad(set_to_none=False)\n"),
            ("tensor of zeros", "set_to_none=True"), "zero_grad(set_to_none=False) leaves zeros, not None"),
    Mistake("none_zero_means_none", _NONE, _NONE_TEST,
            _none(_ZERO_NONE, "p.requires_grad and (p.grad is None or not p.grad.any())"),
            ("zero is a gradient", "p.grad is None"), "takes a zero gradient for no gradient"),
    Mistake("none_lists_frozen", _NONE, _NONE_TEST, _none(_ZERO_NONE, "p.grad is None"), ("requires_grad=False",),
            "lists frozen parameters too"),
    Mistake("none_compared_with_stale", _NONE, _NONE_TEST,
            _none("    before = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}\n",
                  "p.requires_grad and\n"
                  "            (p.grad is None or (before[n] is not None and torch.equal(p.grad, before[n])))"),
            ("equals the value it held before", "set_to_none=True"),
            "compares .grad with its stale value, which a zero gradient leaves unchanged"),
    Mistake("none_perturbs_no_backward", _NONE, _NONE_TEST, '''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
    out = []
    with torch.no_grad():
        base = loss_fn(model(X), Y).item()
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            old = p.clone()
            p.add_(torch.randn_like(p) * 1e-2)
            if loss_fn(model(X), Y).item() == base:
                out.append(n)
            p.copy_(old)
    return out''', ("no backward pass", ".detach()"), "perturbs each parameter instead of running a backward pass"),
    # --- Exercise 4: clip_grad_hook
    Mistake("clip_hook_returns_none", _CLIP, _CLIP_TEST, '''\
def clip_grad_hook(t, max_norm):
    def clip(grad):
        grad = grad * min(1.0, max_norm / (grad.norm().item() + 1e-6))
    return t.register_hook(clip)''', ("returns None", "return value"), "the hook does not return the new gradient"),
    Mistake("clip_by_value", _CLIP, _CLIP_TEST, '''\
def clip_grad_hook(t, max_norm):
    return t.register_hook(lambda grad: grad.clamp(-max_norm, max_norm))''', ("by value", "direction"),
            "clamps each entry instead of the norm"),
    Mistake("clip_always_rescales", _CLIP, _CLIP_TEST, '''\
def clip_grad_hook(t, max_norm):
    return t.register_hook(lambda grad: grad * max_norm / grad.norm())''', ("scaled UP", "min(1"),
            "rescales to max_norm even when the norm is below it"),
    Mistake("clip_no_handle", _CLIP, _CLIP_TEST, '''\
def clip_grad_hook(t, max_norm):
    t.register_hook(lambda grad: grad * (max_norm / (grad.norm() + 1e-6)).clamp(max=1.0))''',
            ("handle",), "returns nothing instead of the handle"),
    Mistake("clip_max_instead_of_min", _CLIP, _CLIP_TEST, '''\
def clip_grad_hook(t, max_norm):
    return t.register_hook(lambda g: g * max(1.0, max_norm / (g.norm().item() + 1e-6)))''',
            ("your hook ran", "factor came out as 1", "min(1"), "max instead of min: the factor is always 1 here"),
]
