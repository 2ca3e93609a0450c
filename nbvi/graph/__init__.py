"""The expression graph: nodes with static shapes, ops with hand-written VJPs, batched evaluation."""
from nbvi.graph.evaluate import Program, eval_node
from nbvi.graph.node import Constant, Leaf, Node, Placeholder, as_node
from nbvi.graph.op import NonDifferentiableError, Op

__all__ = ["Constant", "Leaf", "Node", "NonDifferentiableError", "Op", "Placeholder", "Program",
           "as_node", "eval_node"]
