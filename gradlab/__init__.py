"""gradlab: see and feel how PyTorch's autograd works.

gradlab 用交互式笔记本讲解 PyTorch 的梯度 API。
Interactive notebooks, and this small package behind them, that teach
PyTorch's gradient API.

Importing gradlab imports torch and nothing heavier; it changes no global
state (no seeding, no matplotlib settings).
"""

from gradlab.autograd import GradAccumulationWarning, backward, grad, requires_grad_
from gradlab.functional import softmax

__version__ = "0.1.0"

__all__ = [
    "GradAccumulationWarning",
    "backward",
    "grad",
    "requires_grad_",
    "softmax",
]
