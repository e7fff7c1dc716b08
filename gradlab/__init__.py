"""gradlab: see and feel how PyTorch's autograd works.

gradlab 用交互式笔记本讲解 PyTorch 的梯度 API。
Interactive notebooks, and this small package behind them, that teach
PyTorch's gradient API.

Importing gradlab imports torch and nothing heavier; it changes no global
state (no seeding, no matplotlib settings).
"""

from gradlab._trace_picture import TraceView
from gradlab.autograd import GradAccumulationWarning, backward, explain, grad, requires_grad_
from gradlab.compare import compare_jacobians
from gradlab.functional import softmax
from gradlab.gradcheck import check_grad
from gradlab.graph import Graph, build_graph
from gradlab.jacobians import jacobian, softmax_jacobian
from gradlab.render import GraphView, draw
from gradlab.trace import BackwardTrace, trace_backward
from gradlab.vector_jacobian import vjp

__version__ = "0.1.0"

__all__ = [
    "BackwardTrace",
    "GradAccumulationWarning",
    "Graph",
    "GraphView",
    "TraceView",
    "backward",
    "build_graph",
    "check_grad",
    "compare_jacobians",
    "draw",
    "explain",
    "grad",
    "jacobian",
    "requires_grad_",
    "softmax",
    "softmax_jacobian",
    "trace_backward",
    "vjp",
]
