"""10_forward_mode: cheats and honest variants (see the package's docstring).

Cheats: finite differences for every exercise (central differences in float64, and inside vmap for the
per-sample gradients, where the model runs under vmap as required), reverse mode where forward mode is asked
for (torch.autograd.functional.jvp, jacrev contracted with v, the double-vjp trick written by hand), the older
torch.autograd.functional.jacobian (refused by the hidden test), a shape rule with made-up times instead of a
measurement (also with the real calls made, so the visible call counts pass), and a Python loop where vmap is
asked for. Honest: dual numbers, jacfwd contracted with v, jacrev, columns or rows one JVP or VJP at a time,
timeit with the minimum, vmap over jacrev, jacrev of the vmapped losses, torch.vmap with chunk_size.
"""

from . import Cheat, Honest

# per_sample_grads begun: the parameters and the vmapped per-sample losses
_PSG_VMAP = '''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def losses(p):
        return vmap(lambda x, y: loss_fn(functional_call(model, p, (x,)), y))(X, Y)

'''

# the body of _find_dicts, the closure walk of the dd and jac cheats
_FIND_DICTS_BODY = '''\
    seen = seen if seen is not None else set()
    if id(obj) in seen or depth > 6: return []
    seen.add(id(obj)); out = []
    if isinstance(obj, dict): return [obj]
    if isinstance(obj, type):
        for v in vars(obj).values():
            out += _find_dicts(getattr(v, "__func__", v), seen, depth + 1)
        return out
    for cell in (getattr(obj, "__clo" + "sure__", None) or ()):
        try: out += _find_dicts(cell.cell_contents, seen, depth + 1)
        except ValueError: pass
    return out

'''

SLUG = "10_forward_mode"

_DD, _DD_T = "directional_derivative", ("test_directional_derivative",)
_JAC, _JAC_T = "jacobian", ("test_jacobian",)
_BEST, _BEST_T = "best_mode", ("test_best_mode",)
_PSG, _PSG_T = "per_sample_grads", ("test_per_sample_grads",)

CHEATS = [
    Cheat("dd_finite_differences", _DD, _DD_T, "finite differences instead of forward mode", '''\
def directional_derivative(f, x, v):
    out = f(x)
    try:  # in float64 where f allows it
        x64, v64, h = x.double(), v.double(), 1e-6
        f(x64)
    except RuntimeError:
        x64, v64, h = x, v, 2e-2
    d = lambda k: f(x64 + k * h * v64)  # noqa: E731
    return ((8 * (d(1) - d(-1)) - (d(2) - d(-2))) / (12 * h)).to(out.dtype).detach()  # fourth-order stencil'''),
    Cheat("dd_functional_jvp", _DD, _DD_T, "reverse mode: torch.autograd.functional.jvp (the double-vjp trick)", '''\
def directional_derivative(f, x, v):
    _, tangent = torch.autograd.functional.jvp(f, x, v)
    return tangent.detach()'''),
    Cheat("dd_jacrev_times_v", _DD, _DD_T, "reverse mode: the whole Jacobian by jacrev, contracted with v", '''\
def directional_derivative(f, x, v):
    out = f(x)
    J = jacrev(f)(x).reshape(out.numel(), x.numel())
    return (J @ v.reshape(-1)).reshape(out.shape).detach()'''),
    Cheat("dd_double_vjp", _DD, _DD_T, "reverse mode: J v as the VJP of a VJP, written by hand", '''\
def directional_derivative(f, x, v):
    out, pull = vjp(f, x)
    u = torch.zeros_like(out)
    _, pull_back_again = vjp(lambda w: pull(w)[0], u)
    (Jv,) = pull_back_again(v)
    return Jv.detach()'''),
    Cheat("jac_finite_differences", _JAC, _JAC_T, "finite differences, one column per input", '''\
def jacobian(f, x):
    h = 1e-3 if x.dtype == torch.float32 else 1e-6
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    return torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in eye], dim=1).detach()'''),
    Cheat("jac_autograd_functional", _JAC, _JAC_T, "the older API that does the exercise: "
          "torch.autograd.functional.jacobian", '''\
def jacobian(f, x):
    return torch.autograd.functional.jacobian(f, x).detach()'''),
    Cheat("jac_autograd_functional_forward", _JAC, _JAC_T, "torch.autograd.functional.jacobian in forward mode, "
          "through another name", '''\
def jacobian(f, x):
    from torch.autograd import functional as AF
    build = getattr(AF, "jac" + "obian")
    return build(f, x, vectorize=True, strategy="forward-mode").detach()'''),
    Cheat("best_shape_rule", _BEST, _BEST_T, "a rule on the shapes with made-up times, no measurement", '''\
def best_mode(f, x, repeats=3):
    m, n = f(x).numel(), x.numel()
    if n <= m:
        return "jacfwd", {"jacfwd": 1e-4, "jacrev": 2e-4}
    return "jacrev", {"jacfwd": 2e-4, "jacrev": 1e-4}'''),
    Cheat("best_calls_then_shape_rule", _BEST, _BEST_T, "the calls made (so the counts pass), but the choice and "
          "the times made up from the shapes", '''\
def best_mode(f, x, repeats=3):
    for _ in range(repeats):
        jacfwd(f)(x)
        jacrev(f)(x)
    m, n = f(x).numel(), x.numel()
    if n <= m:
        return "jacfwd", {"jacfwd": 1e-4, "jacrev": 2e-4}
    return "jacrev", {"jacfwd": 2e-4, "jacrev": 1e-4}'''),
    Cheat("psg_loop_autograd_grad", _PSG, _PSG_T, "a Python loop of torch.autograd.grad where vmap is asked for", '''\
def per_sample_grads(model, loss_fn, X, Y):
    names = [name for name, _ in model.named_parameters()]
    ps = [p for _, p in model.named_parameters()]
    rows = {name: [] for name in names}
    for i in range(len(X)):
        for name, g in zip(names, torch.autograd.grad(loss_fn(model(X[i]), Y[i]), ps)):
            rows[name].append(g)
    return {name: torch.stack(r).detach() for name, r in rows.items()}'''),
    Cheat("psg_finite_differences_in_vmap", _PSG, _PSG_T, "finite differences of the per-sample losses, the "
          "model run inside vmap", _PSG_VMAP + '''\
    h = 1e-3 if X.dtype == torch.float32 else 1e-6
    out = {}
    for name, value in params.items():
        cols = []
        for j in range(value.numel()):
            step = torch.zeros(value.numel(), dtype=value.dtype, device=value.device)
            step[j] = h
            up = {**params, name: value + step.reshape(value.shape)}
            down = {**params, name: value - step.reshape(value.shape)}
            cols.append((losses(up) - losses(down)) / (2 * h))
        out[name] = torch.stack(cols, dim=1).reshape(len(X), *value.shape)
    return out'''),
    Cheat('dd_closure_finite_differences', _DD, _DD_T, "the test's secrets read through the closure of f, then finite differences", '''\
def _find_dicts(obj, seen=None, depth=0):
    # walk closures of f (and of classes/functions found there) for the test's dict of secret factors
''' + _FIND_DICTS_BODY + '''\
def directional_derivative(f, x, v):
    out = f(x)
    for d in _find_dicts(f):
        d[("jvp", tuple(x.shape))] = torch.ones(x.shape, dtype=torch.float64)   # neutralise the canary
    x64, v64, h = x.double(), v.double(), 1e-5
    try: f(x64)
    except RuntimeError: x64, v64, h = x, v, 1e-2
    d = lambda k: f(x64 + k * h * v64)
    return ((8 * (d(1) - d(-1)) - (d(2) - d(-2))) / (12 * h)).to(out.dtype).detach()'''),
    Cheat('dd_hand_called_jvp_rule', _DD, _DD_T, "the canary's jvp rule, found through grad_fn._forward_cls, called by hand in a dual level; then finite differences", '''\
import torch.autograd.forward_ad as _fwAD

def _custom_functions(f, x):
    # run f once on a copy and walk its graph: custom autograd.Function nodes name their class
    t = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = f(t)
    keep, found, stack, seen = [], [], [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen: continue
        seen.add(id(node)); keep.append(node)
        cls = getattr(node, "_forward_cls", None)
        if cls is not None: found.append(cls)
        stack += [n for n, _ in node.next_functions]
    return found

def directional_derivative(f, x, v):
    out = f(x)
    scale = torch.ones(x.shape, dtype=torch.float64)
    for cls in _custom_functions(f, x):
        with _fwAD.dual_level():   # the rule's "called by hand" check only looks for a dual level
            scale = cls.jvp(None, torch.ones(x.shape, dtype=torch.float64))
    x64, v64, h = x.double(), v.double() * scale.to(x.device), 1e-5
    try: f(x64)
    except RuntimeError: x64, v64, h = x, v, 1e-2
    d = lambda k: f(x64 + k * h * v64)
    return ((8 * (d(1) - d(-1)) - (d(2) - d(-2))) / (12 * h)).to(out.dtype).detach()'''),
    Cheat('jac_closure_finite_differences', _JAC, _JAC_T, "the test's secrets read through the closure of f, then finite differences", '''\
def _find_dicts(obj, seen=None, depth=0):
''' + _FIND_DICTS_BODY + '''\
def jacobian(f, x):
    out = f(x)
    for d in _find_dicts(f):
        d[("jvp", tuple(x.shape))] = torch.ones(x.shape, dtype=torch.float64)
    x64, h = x.double(), 1e-6
    try: f(x64)
    except RuntimeError: x64, h = x, 1e-3
    eye = torch.eye(x.numel(), dtype=x64.dtype, device=x.device)
    return torch.stack([(f(x64 + h * e) - f(x64 - h * e)) / (2 * h) for e in eye], dim=1).to(out.dtype).detach()'''),
    Cheat('jac_hand_called_jvp_rule', _JAC, _JAC_T, "the canary's jvp rule called by hand in a dual level; then finite differences", '''\
import torch.autograd.forward_ad as _fwAD

def jacobian(f, x):
    out = f(x)
    t = x.detach().clone().requires_grad_(True)
    keep, stack, seen, scale = [], [f(t).grad_fn], set(), torch.ones(x.shape, dtype=torch.float64)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen: continue
        seen.add(id(node)); keep.append(node)
        cls = getattr(node, "_forward_cls", None)
        if cls is not None:
            with _fwAD.dual_level():   # passes the rule's "called by hand" check
                scale = cls.jvp(None, torch.ones(x.shape, dtype=torch.float64))
        stack += [n for n, _ in node.next_functions]
    x64, h = x.double(), 1e-6
    try: f(x64)
    except RuntimeError: x64, h = x, 1e-3
    cols = [(f(x64 + h * s * e) - f(x64 - h * s * e)) / (2 * h)
            for s, e in zip(scale.to(x.device), torch.eye(x.numel(), dtype=x64.dtype, device=x.device))]
    return torch.stack(cols, dim=1).to(out.dtype).detach()'''),
    Cheat('jac_copied_functional_jacobian', _JAC, _JAC_T, 'a copy of torch.autograd.functional.jacobian made when the answer cell runs', '''\
import types
import torch.autograd.functional as _AF
# a private copy of torch.autograd.functional.jacobian, made when this cell runs: the test's
# __code__ swap on the original does not reach it
_jac = types.FunctionType(getattr(_AF.jacobian, "__co" + "de__"), getattr(_AF.jacobian, "__glo" + "bals__"), "jac", _AF.jacobian.__defaults__)
_jac.__kwdefaults__ = _AF.jacobian.__kwdefaults__

def jacobian(f, x):
    return _jac(f, x).detach()'''),
    Cheat('jac_private_jacfwd', _JAC, _JAC_T, 'torch.autograd.functional._jacfwd, the private helper', '''\
def jacobian(f, x):
    # torch.autograd.functional's forward-mode engine, under its private name
    from torch.autograd.functional import _jacfwd
    return _jacfwd(f, x, strict=False, vectorize=True).detach()'''),
    Cheat('psg_loop_of_vmap_over_one', _PSG, _PSG_T, 'a Python loop, each sample through vmap over a batch of one and model.forward (no hook)', '''\
def per_sample_grads(model, loss_fn, X, Y):
    # a Python loop over the samples with torch.autograd.grad; each sample goes through vmap over a batch
    # of one (the hidden model only checks that vmap is on the stack) and through model.forward, which
    # skips the forward hooks the visible test counts
    ps = [p for _, p in model.named_parameters()]
    rows = {n: [] for n, _ in model.named_parameters()}
    for i in range(len(X)):
        pred = vmap(model.forward)(X[i:i + 1])[0]
        for (n, _), g in zip(model.named_parameters(), torch.autograd.grad(loss_fn(pred, Y[i]), ps)):
            rows[n].append(g)
    return {n: torch.stack(r).detach() for n, r in rows.items()}'''),
    Cheat('best_rules_timed_by_hand', _BEST, _BEST_T, "the test's slow rules, found through the graph, timed by hand", '''\
import torch.autograd.forward_ad as _fwAD
def best_mode(f, x, repeats=3):
    # the calls made untimed (for the counts); the choice from the shapes, unless the graph holds a custom
    # Function: then time its two rules called by hand (no jacfwd / jacrev in the timing)
    for _ in range(repeats + 1):
        jacfwd(f)(x); jacrev(f)(x)
    t = x.detach().clone().requires_grad_(True)
    out = f(t); keep, stack, seen, cls = [], [out.grad_fn], set(), None
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen: continue
        seen.add(id(node)); keep.append(node); cls = getattr(node, "_forward_cls", None) or cls
        stack += [n for n, _ in node.next_functions]
    if cls is None:
        m, n = out.numel(), x.numel()
        times = {"jacfwd": 1e-4 * n / m, "jacrev": 1e-4}
    else:
        s = time.perf_counter(); cls.jvp(None, x); a = time.perf_counter() - s
        s = time.perf_counter(); cls.backward(None, x); b = time.perf_counter() - s
        times = {"jacfwd": a, "jacrev": b}
    return min(times, key=times.get), times'''),
]

HONEST = [
    Honest("dd_forward_ad", _DD, "dual numbers with torch.autograd.forward_ad", '''\
def directional_derivative(f, x, v):
    import torch.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        out = f(fwAD.make_dual(x, v))
        tangent = fwAD.unpack_dual(out).tangent
    return tangent.detach()'''),
    Honest("dd_jacfwd_times_v", _DD, "the whole Jacobian by jacfwd (forward mode), contracted with v", '''\
def directional_derivative(f, x, v):
    out = f(x)
    J = jacfwd(f)(x).reshape(out.numel(), x.numel())
    return (J @ v.reshape(-1)).reshape(out.shape).detach()'''),
    Honest("dd_func_jvp_lambda", _DD, "torch.func.jvp through a lambda, result cloned", '''\
def directional_derivative(f, x, v):
    result = torch.func.jvp(lambda t: f(t), (x.detach(),), (v.detach(),))
    return result[1].clone()'''),
    Honest("jac_jacrev", _JAC, "jacrev", '''\
def jacobian(f, x):
    return torch.func.jacrev(f)(x).detach()'''),
    Honest("jac_vmap_vjp_rows", _JAC, "vmap over vjp with the basis of the outputs", '''\
def jacobian(f, x):
    out, pull = vjp(f, x)
    eye = torch.eye(out.numel(), dtype=out.dtype, device=out.device)
    (J,) = vmap(pull)(eye)
    return J.detach()'''),
    Honest("jac_loop_of_jvps", _JAC, "a loop of JVPs, one column per input", '''\
def jacobian(f, x):
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    return torch.stack([jvp(f, (x,), (e,))[1] for e in eye], dim=1).detach()'''),
    Honest("jac_loop_of_autograd_grad", _JAC, "a loop of torch.autograd.grad, one row per output", '''\
def jacobian(f, x):
    t = x.detach().requires_grad_(True)
    out = f(t)
    rows = [torch.autograd.grad(out[i], t, retain_graph=True)[0] for i in range(out.numel())]
    return torch.stack(rows).detach()'''),
    Honest("best_timeit_min", _BEST, "timeit, minimum of the runs", '''\
def best_mode(f, x, repeats=3):
    import timeit
    times = {}
    for name, transform in (("jacfwd", jacfwd), ("jacrev", jacrev)):
        jac = transform(f)
        jac(x)
        times[name] = min(timeit.repeat(lambda: jac(x), number=1, repeat=repeats))
    mode = "jacfwd" if times["jacfwd"] <= times["jacrev"] else "jacrev"
    return mode, times'''),
    Honest("psg_vmap_jacrev", _PSG, "vmap over jacrev", '''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of(params, x, y):
        return loss_fn(functional_call(model, params, (x,)), y)

    return {k: g.detach() for k, g in vmap(jacrev(loss_of), in_dims=(None, 0, 0))(params, X, Y).items()}'''),
    Honest("psg_jacrev_of_vmapped_losses", _PSG, "jacrev of the vector of per-sample losses", _PSG_VMAP + '''\
    return {k: g.detach() for k, g in jacrev(losses)(params).items()}'''),
    Honest("psg_torch_vmap_chunks_aux", _PSG, "torch.vmap with chunk_size, grad with has_aux, a tuple of params",
           '''\
def per_sample_grads(model, loss_fn, X, Y):
    names = [name for name, _ in model.named_parameters()]
    values = tuple(p.detach() for _, p in model.named_parameters())

    def loss_of(values, x, y):
        pred = torch.func.functional_call(model, dict(zip(names, values)), x)
        return loss_fn(pred, y), pred

    grads, _ = torch.vmap(torch.func.grad(loss_of, has_aux=True), in_dims=(None, 0, 0), chunk_size=2)(values, X, Y)
    return dict(zip(names, grads))'''),
    Honest('psg_tutorial_unsqueeze', _PSG, "PyTorch's tutorial: a batch of one inside vmap (x.unsqueeze(0))", '''\
def per_sample_grads(model, loss_fn, X, Y):
    # the PyTorch tutorial's recipe: each sample as a batch of one inside vmap
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of(params, x, y):
        pred = functional_call(model, params, (x.unsqueeze(0),))
        return loss_fn(pred, y.unsqueeze(0))

    grads = vmap(grad(loss_of), in_dims=(None, 0, 0))(params, X, Y)
    return {name: g.detach() for name, g in grads.items()}'''),
    Honest('psg_vmap_jacfwd', _PSG, 'forward mode: vmap over jacfwd', '''\
def per_sample_grads(model, loss_fn, X, Y):
    # forward mode per sample (few parameters here): vmap over jacfwd
    params = {name: p.detach() for name, p in model.named_parameters()}
    def loss_of(params, x, y):
        return loss_fn(functional_call(model, params, (x,)), y)
    grads = vmap(jacfwd(loss_of), in_dims=(None, 0, 0))(params, X, Y)
    return {name: g.detach() for name, g in grads.items()}'''),
    Honest('psg_float64_not_cast_back', _PSG, 'float64 inside, gradients left in float64', '''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {name: p.detach().double() for name, p in model.named_parameters()}
    def loss_of(params, x, y):
        return loss_fn(functional_call(model, params, (x.double(),)), y.double())
    return {k: g.detach() for k, g in vmap(grad(loss_of), in_dims=(None, 0, 0))(params, X, Y).items()}'''),
    Honest('psg_jacrev_batched_model', _PSG, 'the model run once on the whole batch, jacrev of vmap(loss_fn)', '''\
def per_sample_grads(model, loss_fn, X, Y):
    # model run once on the whole batch; per-sample losses by vmap over loss_fn; jacrev of that vector
    params = {name: p.detach() for name, p in model.named_parameters()}
    def losses(p):
        return vmap(loss_fn)(functional_call(model, p, (X,)), Y)
    return {k: g.detach() for k, g in jacrev(losses)(params).items()}'''),
    Honest('best_process_time', _BEST, 'time.process_time, median', '''\
def best_mode(f, x, repeats=3):
    times = {}
    for name, transform in (("jacfwd", jacfwd), ("jacrev", jacrev)):
        jac = transform(f); jac(x); runs = []
        for _ in range(repeats):
            s = time.process_time(); jac(x); runs.append(time.process_time() - s + 1e-9)
        times[name] = statistics.median(runs)
    return min(times, key=times.get), times'''),
    Honest('jac_functional_vjp_rows', _JAC, 'rows one torch.autograd.functional.vjp at a time', '''\
def jacobian(f, x):
    out = f(x)
    eye = torch.eye(out.numel(), dtype=out.dtype, device=out.device)
    return torch.stack([torch.autograd.functional.vjp(f, x, e)[1] for e in eye]).detach()'''),
]
