"""Gradcheck cases for the tensor-API-breadth primitives (trig/hyperbolic, rounding, scans,
einsum), in test_gradcheck_primitives.py's form: {primitive: generator of (label, fn, inputs)}.

Kept in its own module so the shape menu there stays one table; that file merges these.
"""
import numpy as np

from autograd import Tensor
from autograd.ops import (Acos, Acosh, Asin, Asinh, Atan, Atan2, Atanh, Ceil, Cosh, CumProd,
                          CumSum, Einsum, Expm1, Floor, Round, Sign, Sinh, Tan, Trunc)

SHAPES = [(), (2,), (3, 2), (1, 2), (4, 1, 3)]


def _rng(label):
    return np.random.default_rng(sum(map(ord, label)) * 7919 % 2**32)


def _unary(op, make=None, **params):
    def cases():
        for shape in SHAPES:
            label = f"{op.__name__}{shape}{params or ''}"
            rng = _rng(label)
            x = make(shape, rng) if make else rng.standard_normal(shape)
            yield label, (lambda t: op.apply(t, **params)), [x]
    return cases


def _inside_unit(shape, rng):
    return rng.uniform(-0.8, 0.8, shape)


def _above_one(shape, rng):
    return rng.uniform(1.2, 3.0, shape)


def _off_integers(shape, rng):
    """Values at least 0.1 from every integer (and half-integer), where rounding jumps."""
    return np.floor(rng.uniform(-3, 3, shape)) + rng.uniform(0.1, 0.4, shape)


def _atan2_cases():
    for sa, sb in [((), ()), ((3, 2), (2,)), ((1, 2), (3, 1)), ((4, 1, 3), (1, 3))]:
        label = f"Atan2{sa}{sb}"
        rng = _rng(label)
        yield label, (lambda a, b: Atan2.apply(a, b)), [rng.standard_normal(sa),
                                                        rng.uniform(0.5, 2, sb) * rng.choice([-1, 1], sb)]


def _flat_cases(op, **params):
    def cases():
        for shape in SHAPES:
            label = f"{op.__name__}{shape}{params or ''}"
            yield label, (lambda t: op.apply(t, **params) + t), [_off_integers(shape, _rng(label))]
    return cases


def _scan_cases(op):
    def cases():
        for shape in SHAPES[1:]:
            for axis in range(-len(shape), len(shape)):
                for reverse in ((False, True) if op is CumSum else (None,)):
                    label = f"{op.__name__}{shape} axis={axis} reverse={reverse}"
                    rng = _rng(label)
                    x = rng.standard_normal(shape) if op is CumSum else rng.uniform(0.5, 1.5, shape)
                    params = dict(axis=axis) if reverse is None else dict(axis=axis, reverse=reverse)
                    yield label, (lambda t, p=params: op.apply(t, **p)), [x]
        if op is CumProd:
            # zeros take the exact O(n^2) branch: one zero, two zeros, a zero at each end
            for values in ([2.0, 0.0, -1.5, 0.7], [0.0, 1.3, 0.0, 2.0], [1.5, -0.5, 0.8, 0.0]):
                label = f"CumProd zeros {values}"
                yield label, (lambda t: CumProd.apply(t, axis=0)), [np.array(values)]
            x = _rng("cz").standard_normal((3, 4))
            x[1, 2] = x[0, 0] = 0.0
            yield "CumProd zeros (3, 4) axis=1", (lambda t: CumProd.apply(t, axis=1)), [x]
    return cases


EINSUM_SPECS = [
    ("ij,jk->ik", [(3, 2), (2, 4)]),
    ("ij,ij->", [(3, 2), (3, 2)]),
    ("i,j->ij", [(3,), (2,)]),
    ("bij,bjk->bik", [(2, 3, 2), (2, 2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("iji->j", [(2, 3, 2)]),
    ("ij->", [(3, 2)]),
    ("ijk->kji", [(4, 1, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ab,cd->", [(2, 1), (1, 2)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ij,j->i", [(3, 2), (2,)]),
    ("->", [()]),
    (",i->i", [(), (3,)]),
]


def _einsum_cases():
    for spec, shapes in EINSUM_SPECS:
        label = f"Einsum {spec} {shapes}"
        rng = _rng(label)
        yield label, (lambda *ts, s=spec: Einsum.apply(*ts, subscripts=s)), [rng.standard_normal(s) for s in shapes]
    a = Tensor(np.arange(6.0).reshape(2, 3))
    yield "Einsum with a constant operand", (lambda b: Einsum.apply(a, b, subscripts="ij,jk->ik")), [
        _rng("const").standard_normal((3, 2))]


CASES = {
    Tan: _unary(Tan, _inside_unit), Asin: _unary(Asin, _inside_unit),
    Acos: _unary(Acos, _inside_unit), Atan: _unary(Atan), Atan2: _atan2_cases,
    Sinh: _unary(Sinh), Cosh: _unary(Cosh), Asinh: _unary(Asinh), Acosh: _unary(Acosh, _above_one),
    Atanh: _unary(Atanh, _inside_unit), Expm1: _unary(Expm1),
    Floor: _flat_cases(Floor), Ceil: _flat_cases(Ceil), Trunc: _flat_cases(Trunc),
    Round: lambda: iter(list(_flat_cases(Round)()) + list(_flat_cases(Round, decimals=1)())),
    Sign: lambda: (c for c in _unary(Sign, lambda s, r: r.uniform(0.2, 1, s) * r.choice([-1, 1], s))()),
    CumSum: _scan_cases(CumSum), CumProd: _scan_cases(CumProd),
    Einsum: _einsum_cases,
}
