"""08_extending_autograd: cheats and honest variants (see the package's docstring).

The cheats earn a Function's points without writing its backward: autograd through the forward
with no Function at all (a plain class whose apply calls torch.logsumexp, the detach trick for the
straight-through estimator), a Function whose backward re-runs autograd (torch.autograd.grad,
torch.func.vjp, the engine called directly with torch functions switched off, graph nodes called
by hand on a graph kept from forward), forward-mode AD (make_dual, torch.func.jvp, jacfwd), a thread
started in backward, an overridden apply, aten's ready-made native_layer_norm_backward, a backward of
finite differences (a loop, and every element perturbed in one batched call), hard-coded values, and a check_function that answers without checking. The honest ones
use the old ctx style, torch.softmax, other saved tensors, other but correct formulas, the
vjp staticmethod instead of backward, an explicit n x n Jacobian per row, a loop over the rows, and
grad_output changed in place.
"""

from . import Cheat, Honest

SLUG = "08_extending_autograd"

_LSE, _LSE_T = "LogSumExp", "test_LogSumExp"
_LN, _LN_T = "LayerNormFn", "test_LayerNormFn"
_STE, _STE_T = "RoundSTE", "test_RoundSTE"
_CHK, _CHK_T = "check_function", "test_check_function"


def _head(cls: str, args: str, forward: str) -> str:
    """A Function with a one-line forward, up to the def line of its setup_context."""
    return f'''\
class {cls}(torch.autograd.Function):
    @staticmethod
    def forward({args}):
        return {forward}

    @staticmethod
    def setup_context(ctx, inputs, output):
'''


# the skeletons the cheats share: forward and setup_context written, backward begun (x saved)
_SAVE_X = "        ctx.save_for_backward(inputs[0])\n"
_BACKWARD = '''
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
'''
_LSE_FWD = _head("LogSumExp", "x, dim", "torch.logsumexp(x, dim)")
_LN_FWD = _head("LayerNormFn", "x, eps", "F.layer_norm(x, x.shape[-1:], eps=eps)")
_STE_FWD = _head("RoundSTE", "x", "torch.round(x)")
_LSE_HEAD = _LSE_FWD + _SAVE_X + "        ctx.dim = inputs[1]\n" + _BACKWARD
_LN_HEAD = _LN_FWD + _SAVE_X + "        ctx.eps = inputs[1]\n" + _BACKWARD
_STE_HEAD = _STE_FWD + _SAVE_X + _BACKWARD
# apply overridden: forward returns the y built outside it, backward calls y's node
_NODE_CALLED = '''\
        return y.clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.node = inputs[2].grad_fn

    @staticmethod
    def backward(ctx, g):
'''
# the old style (ctx in forward), the forward begun
_LN_OLD_STYLE = '''\
class LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        mu = x.mean(-1, keepdim=True)
'''

CHEATS = [
    Cheat("lse_no_function", _LSE, (_LSE_T,), "autograd through the forward: apply overridden, no Function node", '''\
class LogSumExp(torch.autograd.Function):
    @staticmethod
    def apply(x, dim):
        return torch.logsumexp(x, dim)     # autograd's own LogsumexpBackward does the work'''),
    Cheat("lse_backward_autograd_grad", _LSE, (_LSE_T,), "a backward that re-runs autograd (torch.autograd.grad)",
          _LSE_HEAD + '''\
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            (gx,) = torch.autograd.grad(torch.logsumexp(xx, ctx.dim), xx, g)
        return gx, None'''),
    Cheat("lse_backward_func_vjp", _LSE, (_LSE_T,), "a backward that re-runs autograd (torch.func.vjp)",
          _LSE_HEAD + '''\
        _, pull = torch.func.vjp(lambda t: torch.logsumexp(t, ctx.dim), x)
        return pull(g)[0], None'''),
    Cheat("lse_engine_without_torch_function", _LSE, (_LSE_T,),
          "a backward that runs the engine directly, with torch functions switched off to hide it",
                _LSE_HEAD + '''\
        with torch._C.DisableTorchFunction(), torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            y = torch.logsumexp(xx, ctx.dim)
            engine = torch.autograd.Variable._execution_engine
            (gx,) = engine.run_backward((y,), (g,), False, False, (xx,), True)
        return gx, None'''),
    Cheat("lse_graph_kept_from_forward", _LSE, (_LSE_T,),
          "a graph built in forward under enable_grad, its node called by hand in backward", '''\
_kept = {}


class LogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(x, dim):
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            _kept["y"] = torch.logsumexp(leaf, dim)
        return _kept["y"].detach().clone()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.y = _kept.pop("y")

    @staticmethod
    def backward(ctx, g):
        return ctx.y.grad_fn(g), None          # autograd's own node, called by hand'''),
    Cheat("lse_softmax_by_autograd_in_setup", _LSE, (_LSE_T,),
          "the softmax computed by autograd in setup_context, backward only multiplies", _LSE_FWD + '''\
        x, dim = inputs
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            (p,) = torch.autograd.grad(torch.logsumexp(xx, dim).sum(), xx)   # the softmax, by autograd
        ctx.save_for_backward(p)
        ctx.dim = dim

    @staticmethod
    def backward(ctx, g):
        (p,) = ctx.saved_tensors
        return p * g.unsqueeze(ctx.dim), None'''),
    Cheat("lse_finite_differences", _LSE, (_LSE_T,), "a backward of central finite differences, element by element",
          _LSE_HEAD + '''\
        x64, g64 = x.double(), g.double().unsqueeze(ctx.dim)
        gx = torch.zeros_like(x64)
        flat = gx.view(-1)
        h = 1e-6 * (1 + x64.abs().max())
        for i in range(x64.numel()):
            e = torch.zeros_like(x64).view(-1)
            e[i] = h
            e = e.view(x64.shape)
            d = (torch.logsumexp(x64 + e, ctx.dim) - torch.logsumexp(x64 - e, ctx.dim)).unsqueeze(ctx.dim) / (2 * h)
            flat[i] = (d * g64).sum()
        return gx.to(x.dtype), None'''),
    Cheat("lse_finite_differences_numpy", _LSE, (_LSE_T,),
          "a backward of finite differences computed in NumPy (no torch operation to count)", '''\
import numpy as np


''' + _LSE_HEAD + '''\
        a = x.detach().cpu().double().numpy()
        gn = np.expand_dims(g.detach().cpu().double().numpy(), ctx.dim)
        def f(v):
            m = v.max(axis=ctx.dim, keepdims=True)
            return m + np.log(np.exp(v - m).sum(axis=ctx.dim, keepdims=True))
        out = np.zeros_like(a)
        h = 1e-5 * (1 + np.abs(a).max())
        for i in np.ndindex(a.shape):
            e = np.zeros_like(a)
            e[i] = h
            out[i] = ((f(a + e) - f(a - e)) / (2 * h) * gn).sum()
        return torch.from_numpy(out).to(device=x.device, dtype=x.dtype), None'''),
    Cheat("lse_hard_coded", _LSE, (_LSE_T,), "values typed in for the visible inputs", _LSE_HEAD + '''\
        if tuple(x.shape) in {(2, 4), (3, 3), (2, 3)}:                  # the visible inputs' shapes
            return torch.softmax(x, ctx.dim) * g.unsqueeze(ctx.dim), None
        return torch.zeros_like(x), None'''),
    Cheat("ln_backward_autograd_grad", _LN, (_LN_T,), "a backward that differentiates F.layer_norm with autograd", '''\
import torch.nn.functional as F


''' + _LN_HEAD + '''\
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            F.layer_norm(xx, xx.shape[-1:], eps=ctx.eps).backward(g)
        return xx.grad, None'''),
    Cheat("ln_vectorised_finite_differences", _LN, (_LN_T,),
          "a backward of finite differences, every element perturbed at once in one batched call", '''\
import torch.nn.functional as F


''' + _LN_HEAD + '''\
        n, N = x.shape[-1], x.numel()
        x64, g64 = x.double(), g.double()
        h = 1e-6 * (1 + x64.abs().max())
        eye = (torch.eye(N, dtype=torch.float64, device=x.device) * h).reshape(N, *x.shape)
        plus = F.layer_norm(x64 + eye, (n,), eps=ctx.eps)          # (N perturbed copies, *x.shape)
        minus = F.layer_norm(x64 - eye, (n,), eps=ctx.eps)
        jac = (plus - minus) / (2 * h)
        return (jac * g64).reshape(N, -1).sum(-1).reshape(x.shape).to(x.dtype), None'''),
    Cheat("ste_detach_trick", _STE, (_STE_T,), "autograd through the forward: the detach trick, no Function", '''\
class RoundSTE(torch.autograd.Function):
    @staticmethod
    def apply(x):
        inside = (x.abs() <= 1).to(x.dtype)
        return x * inside + (x.round() - x * inside).detach()'''),
    Cheat("ste_backward_autograd", _STE, (_STE_T,), "a backward that lets autograd differentiate a clamp",
          _STE_HEAD + '''\
        with torch.enable_grad():
            xx = x.detach().requires_grad_(True)
            xx.clamp(-1, 1).backward(g)
        return xx.grad'''),
    Cheat("ln_forward_mode_ad", _LN, (_LN_T,), "forward-mode AD in backward (the Jacobian is symmetric: J g by make_dual)", '''\
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F


''' + _LN_HEAD + '''\
        with fwAD.dual_level():          # the Jacobian is symmetric: J g = g^T J, by forward-mode AD
            y = F.layer_norm(fwAD.make_dual(x, g), x.shape[-1:], eps=ctx.eps)
            gx = fwAD.unpack_dual(y).tangent
        return gx, None'''),
    Cheat("ste_func_jvp", _STE, (_STE_T,), "torch.func.jvp of a clamp in backward (the Jacobian is diagonal)", '''\
import torch.autograd.forward_ad as fwAD


''' + _STE_HEAD + '''\
        if True:
            return torch.func.jvp(lambda t: t.clamp(-1, 1), (x,), (g,))[1]'''),
    Cheat("lse_thread", _LSE, (_LSE_T,), "a thread in backward builds a graph and calls autograd's node by hand", '''\
import threading


''' + _LSE_HEAD + '''\
        box = []

        def work():          # a fresh thread: grad mode on, no torch-function mode, no saved-tensor hooks
            xx = x.detach().requires_grad_(True)
            y = torch.logsumexp(xx, ctx.dim)
            box.append(y.grad_fn(g))          # autograd's own LogsumexpBackward0, called by hand

        t = threading.Thread(target=work)
        t.start()
        t.join()
        return box[0], None'''),
    Cheat("ln_thread", _LN, (_LN_T,), "a thread in backward builds a graph and calls autograd's node by hand", '''\
import threading

import torch.nn.functional as F


''' + _LN_HEAD + '''\
        box = []

        def work():
            xx = x.detach().requires_grad_(True)
            y = F.layer_norm(xx, xx.shape[-1:], eps=ctx.eps)
            box.append(y.grad_fn(g))

        t = threading.Thread(target=work)
        t.start()
        t.join()
        gx = box[0][0] if isinstance(box[0], tuple) else box[0]
        return gx, None'''),
    Cheat("ln_apply_overridden", _LN, (_LN_T,), "apply overridden: the graph built outside forward, its node called in backward", '''\
import torch.nn.functional as F


class LayerNormFn(torch.autograd.Function):
    @classmethod
    def apply(cls, x, eps):
        y = F.layer_norm(x, x.shape[-1:], eps=eps)      # built outside forward: unwatched
        return super().apply(x, eps, y)

    @staticmethod
    def forward(x, eps, y):
''' + _NODE_CALLED + '''\
        r = ctx.node(g)
        return (r[0] if isinstance(r, tuple) else r), None, None'''),
    Cheat("lse_apply_overridden", _LSE, (_LSE_T,), "apply overridden: the graph built outside forward, its node called in backward", '''\
class LogSumExp(torch.autograd.Function):
    @classmethod
    def apply(cls, x, dim):
        y = torch.logsumexp(x, dim)            # autograd's graph, built outside forward, unwatched
        return super().apply(x, dim, y)

    @staticmethod
    def forward(x, dim, y):
''' + _NODE_CALLED + '''\
        return ctx.node(g), None, None         # LogsumexpBackward0 called by hand'''),
    Cheat("ln_aten_backward_kernel", _LN, (_LN_T,), "aten.native_layer_norm_backward called in backward", '''\
class LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(x, eps):
        out, mean, rstd = torch.native_layer_norm(x, x.shape[-1:], None, None, eps)
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, eps = inputs
        _, mean, rstd = torch.native_layer_norm(x, x.shape[-1:], None, None, eps)
        ctx.save_for_backward(x, mean, rstd)

    @staticmethod
    def backward(ctx, g):
        x, mean, rstd = ctx.saved_tensors
        gx, _, _ = torch.ops.aten.native_layer_norm_backward(g, x, x.shape[-1:], mean, rstd, None, None,
                                                             [True, False, False])
        return gx, None'''),
    Cheat("lse_jacfwd", _LSE, (_LSE_T,), "torch.func.jacfwd in backward", _LSE_HEAD + '''\
        y, jvp_fn = torch.func.linearize(lambda t: torch.logsumexp(t, ctx.dim), x) if False else (None, None)
        J = torch.func.jacfwd(lambda t: (torch.logsumexp(t, ctx.dim) * g).sum())(x)   # forward mode, vmapped
        return J, None'''),
    Cheat("check_always_true", _CHK, (_CHK_T,), "check_function answers (True, True) without checking", '''\
def check_function(fn, *inputs):
    return True, True'''),
    Cheat("check_by_name", _CHK, (_CHK_T,), "check_function answers from the class names of the visible test", '''\
def check_function(fn, *inputs):
    name = fn.__name__
    return "Wrong" not in name, "Once" not in name and "Wrong" not in name'''),
]

HONEST = [
    Honest("lse_old_style", _LSE, "old style: forward(ctx, ...), no setup_context, softmax saved", '''\
class LogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim):
        m = x.amax(dim=dim, keepdim=True)
        out = m + torch.log(torch.sum(torch.exp(x - m), dim=dim, keepdim=True))
        ctx.save_for_backward(torch.exp(x - out))
        ctx.dim = dim
        return out.squeeze(dim)

    @staticmethod
    def backward(ctx, grad_output):
        (p,) = ctx.saved_tensors
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = p * grad_output.unsqueeze(ctx.dim)
        return grad_x, None'''),
    Honest("lse_torch_softmax", _LSE, "torch.logsumexp forward, torch.softmax in backward", _LSE_FWD + '''\
        x, dim = inputs
        ctx.save_for_backward(x)
        ctx.dim = dim

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return torch.softmax(x, dim=ctx.dim) * grad_output.unsqueeze(ctx.dim), None'''),
    Honest("lse_vjp_staticmethod", _LSE, "vjp instead of backward, keepdim reshape by view", '''\
class LogSumExp(torch.autograd.Function):
    @staticmethod
    def forward(x, dim):
        d = dim % x.dim()
        m = torch.max(x, dim=d, keepdim=True).values
        return (torch.log(torch.exp(x - m).sum(d, keepdim=True)) + m).squeeze(d)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, dim = inputs
        d = dim % x.dim()
        ctx.save_for_backward(x, output)
        ctx.shape = list(x.shape[:d]) + [1] + list(x.shape[d + 1:])

    @staticmethod
    def vjp(ctx, grad_output):
        x, out = ctx.saved_tensors
        return (x - out.view(ctx.shape)).exp() * grad_output.view(ctx.shape), None'''),
    Honest("ln_saves_input", _LN, "saves x and recomputes, another arrangement of the formula",
          _LN_OLD_STYLE + '''\
        return (x - mu) * torch.rsqrt(x.var(-1, keepdim=True, unbiased=False) + eps)
''' + _BACKWARD + '''\
        n = x.shape[-1]
        mu = x.mean(-1, keepdim=True)
        inv = torch.rsqrt(x.var(-1, keepdim=True, unbiased=False) + ctx.eps)
        xhat = (x - mu) * inv
        gx = inv / n * (n * g - g.sum(-1, keepdim=True) - xhat * (g * xhat).sum(-1, keepdim=True))
        return gx, None'''),
    Honest("ln_chain_rule_in_steps", _LN, "the chain rule written step by step (through var and mu)", '''\
class LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(x, eps):
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        var = (xc * xc).mean(-1, keepdim=True)
        return xc / (var + eps).sqrt()

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, eps = inputs
        ctx.save_for_backward(x)
        ctx.eps = eps
''' + _BACKWARD + '''\
        n = x.shape[-1]
        mu = x.mean(-1, keepdim=True)
        xc = x - mu
        var = (xc * xc).mean(-1, keepdim=True)
        s = (var + ctx.eps).sqrt()
        d_xc = g / s
        d_s = -(g * xc).sum(-1, keepdim=True) / s**2
        d_var = d_s / (2 * s)
        d_xc = d_xc + d_var * 2 * xc / n
        d_x = d_xc - d_xc.mean(-1, keepdim=True)
        return d_x, None'''),
    Honest("ste_where_old_style", _STE, "old style, the mask saved, torch.where", '''\
class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.abs() <= 1)
        return x.round()

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return torch.where(inside, grad_output, torch.zeros_like(grad_output))'''),
    Honest("ste_hardtanh_derivative", _STE, "the mask via clamp equality, once_differentiable", '''\
from torch.autograd.function import once_differentiable


''' + _STE_FWD + '''\
        ctx.save_for_backward(inputs[0])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x.clamp(-1, 1) == x)'''),
    Honest("ln_explicit_jacobian", _LN, "an explicit n x n Jacobian per row, then g @ J", '''\
class LayerNormFn(torch.autograd.Function):
    @staticmethod
    def forward(x, eps):
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - mu) / torch.sqrt(var + eps)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, eps = inputs
        ctx.save_for_backward(output, torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps))

    @staticmethod
    def backward(ctx, g):
        xhat, sigma = ctx.saved_tensors
        n = xhat.shape[-1]
        eye = torch.eye(n, dtype=g.dtype, device=g.device)
        # the Jacobian dy_i/dx_j = (delta_ij - 1/n - xhat_i xhat_j / n) / sigma, one n x n matrix per row
        J = (eye - 1.0 / n - xhat.unsqueeze(-1) * xhat.unsqueeze(-2) / n) / sigma.unsqueeze(-1)
        return (g.unsqueeze(-2) @ J).squeeze(-2), None'''),
    Honest("ln_row_loop", _LN, "a Python loop over the rows, the chain rule step by step",
          _LN_OLD_STYLE + '''\
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + eps)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        n = x.shape[-1]
        rows = x.reshape(-1, n)
        grows = grad_output.reshape(-1, n)
        out = []
        for r in range(rows.shape[0]):          # one row at a time, the chain rule step by step
            xr = rows[r]
            gr = grows[r]
            mu = xr.mean()
            xc = xr - mu
            var = (xc * xc).mean()
            sigma = torch.sqrt(var + ctx.eps)
            xhat = xc / sigma
            d_xhat = gr
            d_sigma = -(d_xhat * xc).sum() / sigma**2
            d_var = d_sigma / (2 * sigma)
            d_xc = d_xhat / sigma + d_var * 2 * xc / n
            d_mu = -d_xc.sum()
            out.append(d_xc + d_mu / n)
        return torch.stack(out).reshape(x.shape), None'''),
    Honest("ste_in_place", _STE, "grad_output changed in place (masked assignment) and returned",
          _STE_FWD + '''\
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        grad_output[x.abs() > 1] = 0
        return grad_output'''),
    Honest("ste_masked_fill_", _STE, "grad_output.masked_fill_ in place, old style", '''\
class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.round()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output.masked_fill_(x.abs() > 1, 0)'''),
    Honest("check_explicit", _CHK, "explicit tolerances, errors caught around both checks", '''\
def check_function(fn, *inputs):
    xs = [t.detach().clone().to(torch.float64).requires_grad_() for t in inputs]
    results = []
    for check in (torch.autograd.gradcheck, torch.autograd.gradgradcheck):
        try:
            results.append(bool(check(fn.apply, tuple(xs), eps=1e-6, atol=1e-5, rtol=1e-3)))
        except Exception:
            results.append(False)
    return tuple(results)'''),
]
