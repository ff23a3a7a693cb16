"""08_extending_autograd: typical mistakes and what the visible tests must say (see the package's docstring)."""

from . import Mistake

SLUG = "08_extending_autograd"

_LSE, _LSE_T = "LogSumExp", "test_LogSumExp"
_LN, _LN_T = "LayerNormFn", "test_LayerNormFn"
_STE, _STE_T = "RoundSTE", "test_RoundSTE"
_CHK, _CHK_T = "check_function", "test_check_function"


def _function(cls: str, args: str, forward: str, setup: str, backward: str) -> str:
    """The source of a Function with forward, setup_context and backward(ctx, grad_output) bodies."""
    return f'''\
class {cls}(torch.autograd.Function):
    @staticmethod
    def forward({args}):
{forward}

    @staticmethod
    def setup_context(ctx, inputs, output):
{setup}

    @staticmethod
    def backward(ctx, grad_output):
{backward}'''


def _lse(forward: str, backward: str, setup: str = "        x, dim = inputs\n        ctx.save_for_backward(x, output)\n"
         "        ctx.dim = dim") -> str:
    return _function("LogSumExp", "x, dim", forward, setup,
                     "        x, out = ctx.saved_tensors\n        dim = ctx.dim\n" + backward)


_STABLE = ("        m = x.amax(dim=dim, keepdim=True)\n"
           "        return (m + torch.exp(x - m).sum(dim=dim, keepdim=True).log()).squeeze(dim)")


def _ln(backward: str, forward: str = "        mu = x.mean(dim=-1, keepdim=True)\n"
        "        var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)\n"
        "        return (x - mu) / torch.sqrt(var + eps)") -> str:
    return _function("LayerNormFn", "x, eps", forward,
                     "        x, eps = inputs\n"
                     "        ctx.save_for_backward(output, "
                     "torch.sqrt(x.var(dim=-1, keepdim=True, correction=0) + eps))\n"
                     "        ctx.eps = eps",
                     "        xhat, sigma = ctx.saved_tensors\n        g = grad_output\n" + backward)


def _ste(backward: str) -> str:
    return _function("RoundSTE", "x", "        return torch.round(x)", "        ctx.save_for_backward(inputs[0])",
                     "        (x,) = ctx.saved_tensors\n" + backward)


MISTAKES = [
    # --- Exercise 1: log-sum-exp
    Mistake("lse_no_max_shift", _LSE, _LSE_T, _lse(
        "        return torch.log(torch.exp(x).sum(dim=dim))",
        "        return grad_output.unsqueeze(dim) * torch.exp(x - out.unsqueeze(dim)), None"),
        ("max", "overflow"), "the naive formula: no max shift, inf for large inputs"),
    Mistake("lse_forgets_grad_output", _LSE, _LSE_T, _lse(
        _STABLE, "        return torch.exp(x - out.unsqueeze(dim)), None"),
        ("multiply by grad_output",), "the backward does not multiply by grad_output"),
    Mistake("lse_wrong_sign", _LSE, _LSE_T, _lse(
        _STABLE, "        return -grad_output.unsqueeze(dim) * torch.exp(x - out.unsqueeze(dim)), None"),
        ("wrong sign",), "a flipped sign in backward"),
    Mistake("lse_no_none_for_dim", _LSE, _LSE_T, _lse(
        _STABLE, "        return grad_output.unsqueeze(dim) * torch.exp(x - out.unsqueeze(dim))"),
        ("None",), "returns only grad_x, no None for the non-tensor dim"),
    Mistake("lse_keepdim_output", _LSE, _LSE_T, _lse(
        "        m = x.amax(dim=dim, keepdim=True)\n"
        "        return m + torch.exp(x - m).sum(dim=dim, keepdim=True).log()",
        "        return grad_output * torch.exp(x - out), None"),
        ("keepdim", "removed"), "keeps the reduced dimension in the output"),
    Mistake("lse_unsqueeze_last_axis", _LSE, _LSE_T, _lse(
        _STABLE, "        return grad_output.unsqueeze(-1) * torch.exp(x - out.unsqueeze(dim)), None"),
        ("unsqueeze", "at dim"), "grad_output unsqueezed at the last axis instead of at dim"),
    Mistake("lse_no_unsqueeze", _LSE, _LSE_T, _lse(
        _STABLE, "        return grad_output * torch.exp(x - out.unsqueeze(dim)), None"),
        ("unsqueeze(dim)", "keepdim"), "multiplies by grad_output without putting the reduced dimension back"),
    Mistake("lse_naive_backward", _LSE, _LSE_T, _lse(
        _STABLE, "        e = torch.exp(x)\n        return grad_output.unsqueeze(dim) * e / e.sum(dim, keepdim=True), None"),
        ("overflows", "exp(x - lse)"), "a stable forward but the naive softmax in backward (NaN for large inputs)"),
    Mistake("lse_global_max", _LSE, _LSE_T, _lse(
        "        m = x.max()\n        return m + torch.exp(x - m).sum(dim).log()",
        "        return grad_output.unsqueeze(dim) * torch.exp(x - out.unsqueeze(dim)), None"),
        ("along dim", "whole tensor"), "the max over the whole tensor, not along dim (-inf for a far-off row)"),
    # --- Exercise 2: LayerNorm
    Mistake("ln_unbiased_variance", _LN, _LN_T, _ln(
        "        return (g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True)) / sigma, None",
        "        mu = x.mean(dim=-1, keepdim=True)\n        return (x - mu) / torch.sqrt(x.var(dim=-1, keepdim=True) + eps)"),
        ("unbiased", "divides by n"), "torch.var's default, the unbiased variance"),
    Mistake("ln_missing_mean_term", _LN, _LN_T, _ln(
        "        return (g - xhat * (g * xhat).mean(-1, keepdim=True)) / sigma, None"),
        ("mean of grad_output is missing",), "drops the term that comes from mu"),
    Mistake("ln_missing_xhat_term", _LN, _LN_T, _ln(
        "        return (g - g.mean(-1, keepdim=True)) / sigma, None"),
        ("xhat * mean(g * xhat) is missing",), "drops the term that comes from sigma"),
    Mistake("ln_no_none_for_eps", _LN, _LN_T, _ln(
        "        return (g - g.mean(-1, keepdim=True) - xhat * (g * xhat).mean(-1, keepdim=True)) / sigma"),
        ("None", "eps"), "returns only grad_x, no None for eps"),
    Mistake("ln_mean_without_keepdim", _LN, _LN_T, _ln(
        "        return (g - g.mean(-1) - xhat * (g * xhat).mean(-1, keepdim=True)) / sigma, None"),
        ("keepdim=True",), "a mean over the last dimension without keepdim"),
    Mistake("ln_plain_division", _LN, _LN_T, _ln("        return g / sigma, None"),
            ("both mean terms are missing",), "differentiates as if mu and sigma were constants"),
    Mistake("ln_zero_gradient", _LN, _LN_T, _ln("        return torch.zeros_like(g), None"),
            ("zero everywhere",), "returns zeros (or the formula without grad_output, which gives 0)"),
    # --- Exercise 3: straight-through rounding
    Mistake("ste_true_derivative", _STE, _STE_T, _ste("        return torch.zeros_like(grad_output)"),
            ("zero everywhere", "true derivative"), "returns the true derivative of round, 0"),
    Mistake("ste_not_clipped", _STE, _STE_T, _ste("        return grad_output"),
            ("clips",), "passes the gradient through everywhere"),
    Mistake("ste_strict_bound", _STE, _STE_T, _ste("        return grad_output * (x.abs() < 1).to(grad_output.dtype)"),
            ("bound is included", "<= 1"), "strict < 1: the bounds themselves get 0"),
    Mistake("ste_mask_only", _STE, _STE_T, _ste("        return (x.abs() <= 1).to(grad_output.dtype)"),
            ("multiply it by grad_output",), "returns the mask without grad_output"),
    # --- Exercise 4: gradcheck
    Mistake("check_in_float32", _CHK, _CHK_T, '''\
def check_function(fn, *inputs):
    args = tuple(t.detach().requires_grad_(True) for t in inputs)
    first_ok = torch.autograd.gradcheck(fn.apply, args, raise_exception=False)
    try:
        second_ok = torch.autograd.gradgradcheck(fn.apply, args, raise_exception=False)
    except RuntimeError:
        second_ok = False
    return bool(first_ok), bool(second_ok)''', ("float32", "float64"), "checks in float32, where gradcheck fails"),
    Mistake("check_raises", _CHK, _CHK_T, '''\
def check_function(fn, *inputs):
    args = tuple(t.detach().double().requires_grad_(True) for t in inputs)
    try:
        second_ok = torch.autograd.gradgradcheck(fn.apply, args)
    except RuntimeError:
        second_ok = False
    return bool(torch.autograd.gradcheck(fn.apply, args)), bool(second_ok)''', ("raise_exception=False",),
            "lets gradcheck raise instead of returning False"),
    Mistake("check_no_gradgradcheck", _CHK, _CHK_T, '''\
def check_function(fn, *inputs):
    args = tuple(t.detach().double().requires_grad_(True) for t in inputs)
    first_ok = torch.autograd.gradcheck(fn.apply, args, raise_exception=False)
    return bool(first_ok), bool(first_ok)''', ("gradgradcheck", "once_differentiable"),
            "answers gradcheck's result twice, never runs gradgradcheck"),
    Mistake("check_no_requires_grad", _CHK, _CHK_T, '''\
def check_function(fn, *inputs):
    args = tuple(t.detach().double() for t in inputs)
    first_ok = torch.autograd.gradcheck(fn.apply, args, raise_exception=False)
    try:
        second_ok = torch.autograd.gradgradcheck(fn.apply, args, raise_exception=False)
    except RuntimeError:
        second_ok = False
    return bool(first_ok), bool(second_ok)''', ("require grad",), "float64 copies that do not require grad"),
]
