"""09_hooks_debugging: cheats and honest variants (see the package's docstring).

The cheats: a safe_where whose gradient comes from finite differences or typed formulas in a custom
backward, or from hooks that paper over the NaN (whole gradient or per branch); layer norms from a
forward pass rebuilt out of the Linear layers (or out of every leaf module), from finite differences on
each output, from the hidden canary's record read through closures, or right numbers that leave a
global hook or a replaced forward behind; the visible model's names typed in, a search that only finds
modules never called, the faults read off model.plan or off class names; a clip hard-coded for the
visible gradient, or done after the backward pass on a leaf only.
"""

from . import Cheat, Honest

# layer_grad_norms begun: the batch and the Linear layers
_NORMS_HEAD = '''\
def layer_grad_norms(model, loss_fn, batch):
    X, Y = batch
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
'''

SLUG = "09_hooks_debugging"


def _rebuilt(picks: str, known: str = "") -> str:
    """layer_grad_norms by a forward pass rebuilt from the modules that `picks` selects, then autograd.grad."""
    return f'''\
def layer_grad_norms(model, loss_fn, batch):
    X, Y = batch
{known}    h, outs = X, []
    for m in model.modules():
        if {picks}:
            h = m(h)
            if isinstance(m, torch.nn.Linear):
                outs.append(h)
    grads = torch.autograd.grad(loss_fn(h, Y), outs)
    return [gr.norm().item() for gr in grads]'''


# a cheat here, and a mistake of 09 (tests/mistakes/m09.py): each layer's forward replaced, never restored
NORMS_FORWARD_PATCHED = _NORMS_HEAD + '''\
    outs = {}
    for k, layer in enumerate(layers):
        def forward(inp, layer=layer, k=k):
            o = torch.nn.functional.linear(inp, layer.weight, layer.bias)
            o.retain_grad()
            outs[k] = o
            return o
        layer.forward = forward
    loss_fn(model(X), Y).backward()
    return [outs[k].grad.norm().item() for k in range(len(layers))]'''


CHEATS = [
    # --- Exercise 1
    Cheat("where_finite_difference_backward", "safe_where", ("test_safe_where",),
          "finite differences of f and g in a custom backward, instead of autograd through them", '''\
class _FDWhere(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, cond, f, g, f_safe, g_safe):
        with torch.no_grad():
            xf = torch.where(cond, x, torch.full_like(x, f_safe)).double()  # float64: accurate differences
            xg = torch.where(cond, torch.full_like(x, g_safe), x).double()
            h = 1e-6
            fv = f(torch.stack([xf, xf + h, xf - h]))  # f and g called once each, on stacked inputs
            gv = g(torch.stack([xg, xg + h, xg - h]))
            d = torch.where(cond, (fv[1] - fv[2]) / (2 * h), (gv[1] - gv[2]) / (2 * h))
            ctx.save_for_backward(d.to(x.dtype))
            return torch.where(cond, fv[0], gv[0]).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        return grad * d, None, None, None, None, None


def safe_where(cond, x, f, g, f_safe, g_safe):
    return _FDWhere.apply(x, cond, f, g, f_safe, g_safe)'''),
    Cheat("where_typed_formulas", "safe_where", ("test_safe_where",),
          "the derivatives of the visible sqrt and log(1 - x) typed into a custom backward", '''\
class _Typed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, cond, out):
        ctx.save_for_backward(x, cond)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, cond = ctx.saved_tensors
        d = torch.where(cond, 0.5 / torch.sqrt(torch.where(cond, x, 1.0)), -1 / (1 - torch.where(cond, 0.0, x)))
        return grad * d, None, None


def safe_where(cond, x, f, g, f_safe, g_safe):
    with torch.no_grad():
        out = torch.where(cond, f(torch.where(cond, x, f_safe)), g(torch.where(cond, g_safe, x)))
    return _Typed.apply(x, cond, out)'''),
    Cheat("where_hook_nan_to_num", "safe_where", ("test_safe_where",),
          "a hook that replaces the NaN of a single where by 0 instead of fixing the cause", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    xv = x.view_as(x)
    xv.register_hook(lambda grad: torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0))
    return torch.where(cond, f(xv), g(xv))'''),
    Cheat("where_grad_mask_hooks", "safe_where", ("test_safe_where",),
          "f and g called on unsafe entries, the NaN masked out of each branch's gradient by a hook", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    xf, xg = x.view_as(x), x.view_as(x)
    xf.register_hook(lambda gr: torch.where(cond, gr, 0.0))
    xg.register_hook(lambda gr: torch.where(cond, 0.0, gr))
    return torch.where(cond, f(xf), g(xg))'''),
    Cheat("where_nan_to_num_per_branch", "safe_where", ("test_safe_where",),
          "nan_to_num on each branch's gradient, by a hook on a view of x per branch", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    xf, xg = x.view_as(x), x.view_as(x)
    for v in (xf, xg):
        v.register_hook(lambda gr: torch.nan_to_num(gr, nan=0.0, posinf=0.0, neginf=0.0))
    return torch.where(cond, f(xf), g(xg))'''),
    # --- Exercise 2
    Cheat("norms_rebuilt_forward_all_leaves", "layer_grad_norms", ("test_layer_grad_norms",),
          "the model taken for a chain of its leaf modules, every one called in turn, then autograd.grad", _rebuilt("not list(m.children())")),
    Cheat("norms_canary_closure", "layer_grad_norms", ("test_layer_grad_norms",),
          "the hidden canary's own record, read through closures of the modules handed in; no hook", '''\
_C = "__clo" + "sure__"


def _cells(fn):
    return [c.cell_contents for c in getattr(fn, _C, None) or ()]


def layer_grad_norms(model, loss_fn, batch):
    X, Y = batch
    taps = [m for m in model.modules() if type(m).__name__ == "Tap"]
    if taps:
        fn = getattr(taps[0], "canary", None)
        canary = getattr(fn, "__self__", None) or [c for c in _cells(type(taps[0]).forward) if isinstance(c, type)][0]
        passed = [c for c in _cells(canary.backward) if isinstance(c, list)][0]
        n0 = len(passed)
        loss_fn(model(X), Y).backward()
        last = {i: g for i, g in passed[n0:]}
        return [last[i].norm().item() for i in range(len(taps))]
    h, outs = X, []
    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Tanh)):
            h = m(h)
            if isinstance(m, torch.nn.Linear):
                outs.append(h)
    return [g.norm().item() for g in torch.autograd.grad(loss_fn(h, Y), outs)]'''),
    Cheat("norms_global_hook_left", "layer_grad_norms", ("test_layer_grad_norms",),
          "right norms, from a global module forward hook that is never removed", '''\
_norms = {}


def _global_forward_hook(module, inputs, output):
    if isinstance(module, torch.nn.Linear) and output.requires_grad:
        output.register_hook(lambda gr, m=module: _norms.__setitem__(m, gr.norm().item()))


torch.nn.modules.module.register_module_forward_hook(_global_forward_hook)


def layer_grad_norms(model, loss_fn, batch):
    X, Y = batch
    loss_fn(model(X), Y).backward()
    return [_norms[m] for m in model.modules() if isinstance(m, torch.nn.Linear)]'''),
    Cheat("norms_forward_patched", "layer_grad_norms", ("test_layer_grad_norms",),
          "right norms, from each layer's forward replaced on the instance and never restored", NORMS_FORWARD_PATCHED),
    Cheat("norms_rebuilt_forward", "layer_grad_norms", ("test_layer_grad_norms",),
          "the forward pass rebuilt from the Linear layers and known activations, then autograd.grad", _rebuilt("isinstance(m, known)",
                   "    known = (torch.nn.Linear, torch.nn.Tanh, torch.nn.ReLU, torch.nn.Sigmoid, torch.nn.GELU)\n")),
    Cheat("norms_finite_differences", "layer_grad_norms", ("test_layer_grad_norms",),
          "finite differences on every entry of every layer output, through forward hooks", _NORMS_HEAD + '''\
    import copy

    m64 = copy.deepcopy(model).double()  # float64, so the differences are accurate
    X64 = X.double()
    Y64 = Y.double() if Y.is_floating_point() else Y
    norms = []
    with torch.no_grad():
        for layer in [m for m in m64.modules() if isinstance(m, torch.nn.Linear)]:
            bump = {}
            handle = layer.register_forward_hook(lambda m, i, o: o + bump["d"] if "d" in bump else None)
            h, total = 1e-6, 0.0
            for k in range(X.shape[0] * layer.out_features):
                d = torch.zeros(X.shape[0], layer.out_features, dtype=torch.float64, device=X.device)
                d.view(-1)[k] = h
                bump["d"] = d
                up = loss_fn(m64(X64), Y64)
                bump["d"] = -d
                down = loss_fn(m64(X64), Y64)
                bump.clear()
                total += ((up - down) / (2 * h)).item() ** 2
            handle.remove()
            norms.append(total ** 0.5)
    return norms'''),
    # --- Exercise 3
    Cheat("none_typed_names", "params_without_grad", ("test_params_without_grad",),
          "the names of the visible model typed in", '''\
def params_without_grad(model, loss_fn, batch):
    return ["gate.weight", "gate.bias", "aux.weight", "aux.bias", "scale"]'''),
    Cheat("none_names_by_keyword", "params_without_grad", ("test_params_without_grad",),
          "names guessed from words of the visible model, plus modules never called", '''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
    called = set()
    handles = [m.register_forward_hook(lambda mod, i, o: called.add(mod)) for m in model.modules()]
    with torch.no_grad():
        model(X)
    for h in handles:
        h.remove()
    names = []
    for mname, m in model.named_modules():
        for pname, p in m.named_parameters(recurse=False):
            full = f"{mname}.{pname}" if mname else pname
            if p.requires_grad and (m not in called or any(k in full for k in ("gate", "aux", "scale"))):
                names.append(full)
    return names'''),
    Cheat("none_reads_plan", "params_without_grad", ("test_params_without_grad",),
          "the faults read off an attribute of the model (model.plan), no backward pass", '''\
def params_without_grad(model, loss_fn, batch):
    plan = getattr(model, "plan", None)
    if plan is None:
        return ["gate.weight", "gate.bias", "aux.weight", "aux.bias", "scale"]
    out = ["gain"] if plan[0][1] == "data" else []
    for name, fault in plan:
        if fault in ("detach", "no_grad", "unused", "data"):
            out += [f"blocks.{name}.{k}" for k, _ in model.blocks[name].named_parameters()]
    return out'''),
    Cheat("none_block_class_names", "params_without_grad", ("test_params_without_grad",),
          "the faults read off the names of the blocks' classes or functions, no backward pass", '''\
def params_without_grad(model, loss_fn, batch):
    cut = ("detach", "no_grad", "data", "unused")
    out = []
    for name, m in model.named_modules():
        label = (type(m).__name__ + type(m).forward.__qualname__).lower()
        if any(k in label for k in cut) or any(k in name for k in ("gate", "aux")):
            out += [f"{name}.{k}" for k, p in m.named_parameters() if p.requires_grad]
    return sorted(set(out + (["scale"] if hasattr(model, "scale") else [])))'''),
    # --- Exercise 4
    Cheat("clip_typed_factor", "clip_grad_hook", ("test_clip_grad_hook",),
          "the factor of the visible gradient (5 / 13) typed in", '''\
def clip_grad_hook(t, max_norm):
    def clip(grad):
        n = float(grad.norm())
        return grad * (5.0 / 13.0) if abs(n - 13.0) < 1e-3 else grad
    return t.register_hook(clip)'''),
    Cheat("clip_after_accumulation", "clip_grad_hook", ("test_clip_grad_hook",),
          "clip_grad_norm_ on .grad after accumulation: works on a leaf only, not while the gradient flows", '''\
def clip_grad_hook(t, max_norm):
    return t.register_post_accumulate_grad_hook(lambda p: torch.nn.utils.clip_grad_norm_([p], max_norm))'''),
]

HONEST = [
    Honest("where_masked_fill", "safe_where", "masked_fill as the inner where", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    return torch.where(cond, f(x.masked_fill(~cond, f_safe)), g(x.masked_fill(cond, g_safe)))'''),
    Honest("where_indexing", "safe_where", "each branch computed only on its own entries, then assembled", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    out = torch.zeros_like(x)
    out[cond] = f(x[cond])
    out[~cond] = g(x[~cond])
    return out'''),
    Honest("where_scalar_standins", "safe_where", "scalars straight into the inner torch.where", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    inner_f = torch.where(cond, x, f_safe)
    inner_g = torch.where(~cond, x, g_safe)
    return torch.where(~cond, g(inner_g), f(inner_f))'''),
    Honest("where_clone_assign", "safe_where", "clones of x with the unselected entries overwritten", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    xf = x.clone()
    xf[~cond] = f_safe
    xg = x.clone()
    xg[cond] = g_safe
    return torch.where(cond, f(xf), g(xg))'''),
    Honest("where_blend", "safe_where", "arithmetic blending with the mask as 0/1 floats", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    c = cond.to(x.dtype)
    xf = x * c + f_safe * (1 - c)
    xg = x * (1 - c) + g_safe * c
    return f(xf) * c + g(xg) * (1 - c)'''),
    Honest("where_masked_scatter", "safe_where", "each branch on its own entries, assembled by masked_scatter", '''\
def safe_where(cond, x, f, g, f_safe, g_safe):
    out = torch.zeros_like(x).masked_scatter(cond, f(x[cond]))
    return out.masked_scatter(~cond, g(x[~cond]))'''),
    Honest("norms_grad_then_backward", "layer_grad_norms",
           "autograd.grad for the norms, then backward() so the parameters' .grad accumulate",
                 _NORMS_HEAD + '''\
    outs = [None] * len(layers)
    hs = [layer.register_forward_hook(lambda m, i, o, k=k: outs.__setitem__(k, o)) for k, layer in enumerate(layers)]
    try:
        loss = loss_fn(model(X), Y)
    finally:
        for h in hs:
            h.remove()
    grads = torch.autograd.grad(loss, outs, retain_graph=True)
    loss.backward()
    return [g.norm().item() for g in grads]'''),
    Honest("norms_backward_pre_hooks", "layer_grad_norms", "module full backward PRE hooks (grad_output)",
          _NORMS_HEAD + '''\
    norms = [None] * len(layers)
    hs = [layer.register_full_backward_pre_hook(lambda m, go, k=k: norms.__setitem__(k, go[0].norm().item()))
          for k, layer in enumerate(layers)]
    try:
        loss_fn(model(X), Y).backward()
    finally:
        for h in hs:
            h.remove()
    return norms'''),
    Honest("norms_full_backward_hooks", "layer_grad_norms", "module full backward hooks, stored by index",
          _NORMS_HEAD + '''\
    norms = {}
    handles = [layer.register_full_backward_hook(
        lambda m, gin, gout, k=k: norms.__setitem__(k, gout[0].norm().item())) for k, layer in enumerate(layers)]
    try:
        loss_fn(model(X), Y).backward()
    finally:
        for h in handles:
            h.remove()
    return [norms[k] for k in range(len(layers))]'''),
    Honest("norms_retain_grad", "layer_grad_norms", "forward hooks with retain_grad, .grad read after backward",
          _NORMS_HEAD + '''\
    outs = {}

    def keep(k):
        def hook(m, i, o):
            o.retain_grad()
            outs[k] = o
        return hook

    handles = [layer.register_forward_hook(keep(k)) for k, layer in enumerate(layers)]
    try:
        loss_fn(model(X), Y).backward()
    finally:
        for h in handles:
            h.remove()
    return [float(outs[k].grad.norm()) for k in range(len(layers))]'''),
    Honest("norms_autograd_grad", "layer_grad_norms", "outputs captured by forward hooks, torch.autograd.grad",
          _NORMS_HEAD + '''\
    outs = [None] * len(layers)
    handles = [layer.register_forward_hook(lambda m, i, o, k=k: outs.__setitem__(k, o))
               for k, layer in enumerate(layers)]
    try:
        loss = loss_fn(model(X), Y)
    finally:
        for h in handles:
            h.remove()
    grads = torch.autograd.grad(loss, outs)
    return [gr.norm().item() for gr in grads]'''),
    Honest("none_autograd_grad", "params_without_grad", "torch.autograd.grad with allow_unused=True", '''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss_fn(model(X), Y), [p for _, p in named], allow_unused=True)
    return sorted(n for (n, _), gr in zip(named, grads) if gr is None)'''),
    Honest("none_param_hooks", "params_without_grad", "a hook on every parameter records which ones fire", '''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
    fired = set()
    handles = [p.register_hook(lambda grad, n=n: fired.add(n))
               for n, p in model.named_parameters() if p.requires_grad]
    try:
        loss_fn(model(X), Y).backward()
    finally:
        for h in handles:
            h.remove()
    return [n for n, p in model.named_parameters() if p.requires_grad and n not in fired]'''),
    Honest("none_graph_walk", "params_without_grad", "the loss's graph walked from grad_fn to the AccumulateGrad nodes", '''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
    root = loss_fn(model(X), Y).grad_fn
    seen, stack, reached = set(), [root], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            reached.add(id(node.variable))
        stack.extend(nf for nf, _ in node.next_functions)
    return [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in reached]'''),
    Honest("none_grad_version", "params_without_grad", "the .grad object and its _version compared across backward", '''\
def params_without_grad(model, loss_fn, batch):
    X, Y = batch
    before = {n: (p.grad, None if p.grad is None else p.grad._version) for n, p in model.named_parameters()}
    loss_fn(model(X), Y).backward()
    out = []
    for n, p in model.named_parameters():
        old, v = before[n]
        if p.requires_grad and (p.grad is None or (p.grad is old and p.grad._version == v)):
            out.append(n)
    return out'''),
    Honest("clip_conditional", "clip_grad_hook", "a hook that returns None (no change) below max_norm", '''\
def clip_grad_hook(t, max_norm):
    def clip(grad):
        n = grad.norm()
        if n > max_norm:
            return grad * (max_norm / (n + 1e-6))
    return t.register_hook(clip)'''),
    Honest("clip_item_factor", "clip_grad_hook", "the factor as a Python float", '''\
def clip_grad_hook(t, max_norm):
    def clip(grad):
        norm = grad.norm().item()
        return grad * min(1.0, max_norm / (norm + 1e-6))
    handle = t.register_hook(clip)
    return handle'''),
    Honest("clip_with_clip_grad_norm", "clip_grad_hook", "clip_grad_norm_ on a stand-in inside the hook", '''\
def clip_grad_hook(t, max_norm):
    def clip(grad):
        holder = torch.zeros_like(grad, requires_grad=True)
        holder.grad = grad.detach().clone()
        torch.nn.utils.clip_grad_norm_([holder], max_norm)
        return holder.grad
    return t.register_hook(clip)'''),
]
