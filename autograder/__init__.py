"""An nbgrader course on PyTorch autograd, and the tools that release, check and grade it."""

__version__ = "0.1.0"
