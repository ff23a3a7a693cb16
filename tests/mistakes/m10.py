"""10_forward_mode: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

SLUG = "10_forward_mode"

_DD, _DD_TEST = "directional_derivative", "test_directional_derivative"
_JAC, _JAC_TEST = "jacobian", "test_jacobian"
_BEST, _BEST_TEST = "best_mode", "test_best_mode"
_PSG, _PSG_TEST = "per_sample_grads", "test_per_sample_grads"

_BEST_HEAD = '''\
def best_mode(f, x, repeats=3):
    times = {}
    for name, transform in (("jacfwd", jacfwd), ("jacrev", jacrev)):
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
'''


def _psg_vmap(in_dims: str, loss: str = "        return loss_fn(functional_call(model, params, (x,)), y)\n") -> str:
    """per_sample_grads by vmap of grad, with loss_of's body and vmap's in_dims given."""
    return f'''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {{name: p.detach() for name, p in model.named_parameters()}}
    def loss_of(params, x, y):
{loss}    grads = vmap(grad(loss_of), in_dims={in_dims})(params, X, Y)
    return {{name: g.detach() for name, g in grads.items()}}'''

MISTAKES = [
    # --- Exercise 1: J v in forward mode
    Mistake("dd_returns_pair", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    return jvp(f, (x,), (v,))''', ("tuple", "(f(x), J v)"), "returns jvp's pair instead of the tangent"),
    Mistake("dd_returns_primal", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    out = jvp(f, (x,), (v,))[0]
    return out.detach()''', ("f(x), the primal",), "returns the primal output f(x)"),
    Mistake("dd_not_tuples", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    _, tangent = jvp(f, x, v)
    return tangent.detach()''', ("TUPLES", "jvp(f, (x,), (v,))"), "passes x and v to jvp without tuples"),
    Mistake("dd_tangent_wrong_shape", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    _, tangent = jvp(f, (x,), (v.unsqueeze(0),))
    return tangent.detach()''', ("wrong shape", "shape of x"), "a tangent whose shape is not x's"),
    Mistake("dd_tangent_ones", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    _, tangent = jvp(f, (x,), (torch.ones_like(f(x)),))
    return tangent.detach()''', ("J @ ones", "push v itself"), "pushes a tangent of ones (shaped like f(x)) instead of v"),
    Mistake("dd_vjp_instead", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    _, pull = vjp(f, x)
    (vJ,) = pull(v)
    return vJ.detach()''', ("v^T J", "reverse mode"), "computes a VJP v^T J instead of J v"),
    Mistake("dd_dual_forgot_tangent", _DD, _DD_TEST, '''\
def directional_derivative(f, x, v):
    import torch.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        out = f(fwAD.make_dual(x, v))
        return fwAD.unpack_dual(out).primal.detach()''', ("f(x), the primal",),
            "dual numbers, but reads the primal instead of the tangent"),
    # --- Exercise 2: the Jacobian
    Mistake("jac_transposed", _JAC, _JAC_TEST, '''\
def jacobian(f, x):
    return jacfwd(f)(x).T.detach()''', ("TRANSPOSE",), "returns the transposed Jacobian"),
    Mistake("jac_gradient_of_sum", _JAC, _JAC_TEST, '''\
def jacobian(f, x):
    return grad(lambda t: f(t).sum())(x).detach()''', ("SUM of the outputs", "one row per output"),
            "the gradient of the summed outputs instead of the Jacobian"),
    Mistake("jac_not_called", _JAC, _JAC_TEST, '''\
def jacobian(f, x):
    return jacrev(f, x)''', ("returned a function", "jacfwd(f)(x)"), "jacrev(f, x): the transform is never called on x"),
    # --- Exercise 3: best_mode
    Mistake("best_times_only_the_transform", _BEST, _BEST_TEST, _BEST_HEAD + '''\
            transform(f)
            runs.append(time.perf_counter() - start)
        times[name] = statistics.median(runs)
    return min(times, key=times.get), times''', ("0 times under jacfwd", "jacfwd(f)(x)"),
            "times the creation of jacfwd(f), never its call on x"),
    Mistake("best_returns_slower", _BEST, _BEST_TEST, _BEST_HEAD + '''\
            transform(f)(x)
            runs.append(time.perf_counter() - start)
        times[name] = statistics.median(runs)
    return max(times, key=times.get), times''', ("faster",), "returns the slower mode (max instead of min)"),
    # --- Exercise 4: per-sample gradients
    Mistake("psg_no_in_dims", _PSG, _PSG_TEST, '''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of(params, x, y):
        return loss_fn(functional_call(model, params, (x,)), y)

    return vmap(grad(loss_of))(params, X, Y)''', ("PARAMETERS", "in_dims=(None, 0, 0)"),
            "vmap without in_dims maps over the parameters too"),
    Mistake("psg_divided_by_batch", _PSG, _PSG_TEST, '''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of(params, x, y):
        return loss_fn(functional_call(model, params, (x,)), y) / X.shape[0]   # the batch mean

    return vmap(grad(loss_of), in_dims=(None, 0, 0))(params, X, Y)''', ("divided by the batch size",),
            "divides each sample's loss by B, as a batch mean does"),
    Mistake("psg_batch_gradient", _PSG, _PSG_TEST, '''\
def per_sample_grads(model, loss_fn, X, Y):
    params = {name: p.detach() for name, p in model.named_parameters()}
    batch_loss = lambda p: loss_fn(functional_call(model, p, (X,)), Y)
    return grad(batch_loss)(params)''', ("ONE gradient", "batch dimension"), "the gradient of the batch loss, once"),
    Mistake("psg_loop_without_zero", _PSG, _PSG_TEST, '''\
def per_sample_grads(model, loss_fn, X, Y):
    rows = {name: [] for name, _ in model.named_parameters()}
    for i in range(len(X)):
        loss_fn(model(X[i]), Y[i]).backward()
        for name, p in model.named_parameters():
            rows[name].append(p.grad.detach().clone())
    return {name: torch.stack(r) for name, r in rows.items()}''', ("Python loop", "never cleared"),
            "a loop of backward() calls that never zeroes .grad"),
    Mistake("psg_loop", _PSG, _PSG_TEST, '''\
def per_sample_grads(model, loss_fn, X, Y):
    rows = {name: [] for name, _ in model.named_parameters()}
    for i in range(len(X)):
        model.zero_grad()
        loss_fn(model(X[i]), Y[i]).backward()
        for name, p in model.named_parameters():
            rows[name].append(p.grad.detach().clone())
    model.zero_grad()
    return {name: torch.stack(r) for name, r in rows.items()}''', ("Python loop", "vmap"),
            "a (correct) Python loop of backward() calls where vmap is asked for"),
    Mistake('psg_in_dims_1', _PSG, _PSG_TEST, _psg_vmap("(None, 1, 1)"), ('different sizes', 'dimension 0'),
            'maps X and Y over dimension 1'),
    Mistake('psg_in_dims_too_short', _PSG, _PSG_TEST, _psg_vmap("(None, 0)"),
            ('one entry per argument', 'in_dims=(None, 0, 0)'),
            'in_dims with two entries for three arguments'),
    Mistake('psg_item_in_vmap', _PSG, _PSG_TEST,
            _psg_vmap("(None, 0, 0)", "        loss = loss_fn(functional_call(model, params, (x,)), y)\n"
                      '        print("loss", loss.item())\n'
                      "        return loss\n"),
            ('.item()', 'inside vmap'),
            '.item() inside the vmapped function'),
    Mistake('jac_jacfwd_of_output', _JAC, _JAC_TEST, '''\
def jacobian(f, x):
    return jacfwd(f(x))(x).detach()''', ('not jacfwd(f(x))(x)',),
            'jacfwd of the value f(x) instead of f'),
    Mistake('jac_jvp_not_tuples', _JAC, _JAC_TEST, '''\
def jacobian(f, x):
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)
    return torch.stack([jvp(f, x, e)[1] for e in eye], dim=1).detach()''', ('TUPLES',),
            'jvp without tuples, in a loop of columns'),
    Mistake('jac_vjp_wrong_cotangent', _JAC, _JAC_TEST, '''\
def jacobian(f, x):
    out, pull = vjp(f, x)
    eye = torch.eye(x.numel(), dtype=x.dtype, device=x.device)   # basis of the INPUTS, not the outputs
    (J,) = vmap(pull)(eye)
    return J.detach()''', ('cotangent', 'basis of the outputs'),
            'vjp rows with the basis of the inputs'),
]
