"""Matrix products: ``dot`` with numpy's meaning for vectors and matrices, stacked (matmul) beyond that."""
import numpy as np

from nbvi.graph.op import Op, broadcast_static, lift, unbroadcast


class Dot(Op):
    """``a.dot(b)``: vector . vector, matrix . vector, vector . matrix, matrix . matrix; for rank > 2 the
    leading axes are stacks of matrices and broadcast, as in ``numpy.matmul``.

    A vector ``a`` is treated as a 1 x k row and a vector ``b`` as a k x 1 column; those unit axes are
    dropped from the result.
    """

    name = "dot"

    def infer(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"dot needs arrays of rank >= 1, got shapes {a.shape} and {b.shape}")
        self.a_vec, self.b_vec = a.ndim == 1, b.ndim == 1
        a_shape = (1,) + a.shape if self.a_vec else a.shape
        b_shape = b.shape + (1,) if self.b_vec else b.shape
        if a_shape[-1] != b_shape[-2]:
            raise ValueError(
                f"dot: shapes {a.shape} and {b.shape} are not aligned ({a_shape[-1]} != {b_shape[-2]})"
            )
        batch = broadcast_static(a_shape[:-2], b_shape[:-2], what="stacked matrices of 'dot'")
        self.rank = len(batch) + 2  # node rank of both operands once lifted to matrices
        shape = batch + (a_shape[-2], b_shape[-1])
        if self.b_vec:
            shape = shape[:-1]
        if self.a_vec:
            shape = shape[:-2] + shape[-1:] if not self.b_vec else shape[:-1]
        return shape, np.float64

    def as_matrices(self, a, b):
        """Batched operands as stacks of matrices of equal node rank."""
        if self.a_vec:
            a = a[..., None, :]
        if self.b_vec:
            b = b[..., None]
        return lift(a, self.rank), lift(b, self.rank)

    def forward(self, a, b):
        a, b = self.as_matrices(a, b)
        return self.from_matrix(np.matmul(a, b))

    def from_matrix(self, out):
        if self.b_vec:
            out = out[..., 0]
        if self.a_vec:
            out = out[..., 0, :] if not self.b_vec else out[..., 0]
        return out

    def vjp(self, g, out, values, needs):
        a, b = self.as_matrices(*values)
        # g as a matrix stack of the product's shape (..., n, m)
        if self.b_vec:
            g = g[..., None]
        if self.a_vec:
            g = g[..., None, :]
        grads = [None, None]
        if needs[0]:  # d(AB)/dA applied to G: G B^T
            ga = unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a.shape)
            grads[0] = ga.reshape(values[0].shape)
        if needs[1]:  # d(AB)/dB applied to G: A^T G
            gb = unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b.shape)
            grads[1] = gb.reshape(values[1].shape)
        return grads
