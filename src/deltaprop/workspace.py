"""The arrays of one forward and backward pass, allocated once and reused by every mini-batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Array = np.ndarray


def vector_parts(vector: Array, shapes: Sequence[tuple[int, ...]]) -> list[Array]:
    """Consecutive views of the 1-D ``vector`` with the given shapes (which fill it exactly)."""
    parts, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(vector[start:start + size].reshape(shape))
        start += size
    if start != vector.size:
        raise ValueError(f"parts of shapes {list(shapes)} hold {start} values, not {vector.size}")
    return parts


class Workspace:
    """The arrays of one forward and backward pass over up to ``m`` rows, allocated once.

    Attributes (lists over layers, each array (m, n_l) unless said otherwise):
        zs: z^l for l = 1..L.
        activations: a^l for l = 0..L (a^0 is the input rows, set by ``forward``).
        inputs: what layer l + 1 sees: a^l, or under dropout a^l ⊙ mask^l (in ``masked``).
        deltas: δ^l for l = 1..L.
        scratch: one array per layer that the activation and cost kernels may overwrite.
        gradient: ∇C as one vector, every ∂C/∂w^l then every ∂C/∂b^l, independent of m; its parts
            are nabla_w: ∂C/∂w^l (n_l, n_(l-1)) and nabla_b: ∂C/∂b^l (n_l,), so that an optimizer
            updates every parameter in one pass over it.

    ``rows(k)`` gives the same buffers for k <= m rows (their leading rows: contiguous views), so a
    short last mini-batch allocates nothing new either.
    """

    def __init__(self, sizes: Sequence[int], dtype: np.dtype, m: int, dropout: bool = False,
                 backward: bool = True) -> None:
        dt, out_sizes = np.dtype(dtype), list(sizes[1:])
        self.m = m
        self.zs = [np.empty((m, n), dt) for n in out_sizes]
        self.activations: list[Array] = [np.empty((0, 0), dt)]
        self.activations += [np.empty((m, n), dt) for n in out_sizes]
        self.inputs = list(self.activations[:-1])
        self.masked = [np.empty((m, n), dt) for n in out_sizes[:-1]] if dropout else []
        backward_sizes = out_sizes if backward else ()
        self.deltas = [np.empty((m, n), dt) for n in backward_sizes]
        self.scratch = [np.empty((m, n), dt) for n in backward_sizes]
        shapes = list(zip(sizes[1:], sizes[:-1], strict=True)) if backward else []
        shapes += [(n_out,) for n_out, _ in shapes]
        self.gradient = np.empty(sum(int(np.prod(shape)) for shape in shapes), dt)
        parts = vector_parts(self.gradient, shapes)
        self.nabla_w, self.nabla_b = parts[:len(shapes) // 2], parts[len(shapes) // 2:]
        self._views: dict[int, Workspace] = {m: self}

    def rows(self, k: int) -> Workspace:
        """This workspace's buffers cut to their first k rows (k <= m), same gradient arrays."""
        if k > self.m:
            raise ValueError(f"a workspace for {self.m} rows cannot hold {k}")
        view = self._views.get(k)
        if view is None:
            view = object.__new__(Workspace)
            view.m, view._views = k, self._views
            for name in ("zs", "activations", "inputs", "masked", "deltas", "scratch"):
                setattr(view, name, [array[:k] for array in getattr(self, name)])
            view.gradient, view.nabla_w, view.nabla_b = self.gradient, self.nabla_w, self.nabla_b
            self._views[k] = view
        return view
