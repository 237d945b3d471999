"""Small arithmetic expressions for `chainrule graph`, parsed with `ast` and a whitelist.

Nothing is ever passed to eval(): the tree is checked node by node, then walked here,
building Tensor ops. Accepted: numbers, variable names, + - * / **, unary -, and calls
to the functions in FUNCTIONS.
"""
import ast
import math

from autograd import Tensor

MAX_LENGTH = 500  # long enough for any hand-written expression, short enough for ast

FUNCTIONS = {
    "exp": Tensor.exp,
    "log": Tensor.log,
    "tanh": Tensor.tanh,
    "sigmoid": Tensor.sigmoid,
    "relu": Tensor.relu,
    "sin": Tensor.sin,
    "cos": Tensor.cos,
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}

_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%"}


def parse(source):
    """The checked syntax tree of `source`; ExpressionError names the first thing refused."""
    from .errors import ExpressionError

    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression is {len(source)} characters long; "
                              f"the limit is {MAX_LENGTH}")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {source!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"expression {source[:40]!r}... is nested too deeply") from None
    for node in ast.walk(tree):
        _check_node(node)
    return tree


def _check_node(node):
    from .errors import ExpressionError

    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant,
               ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        raise ExpressionError(f"operator {_SYMBOL.get(type(node.op), type(node.op).__name__)!r} "
                              "is not supported; use + - * / **")
    if not isinstance(node, allowed):
        raise ExpressionError(f"{type(node).__name__} is not allowed in an expression; use "
                              "numbers, names, + - * / **, unary -, and "
                              + "/".join(FUNCTIONS) + "(...)")
    if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                           or not isinstance(node.value, (int, float))):
        raise ExpressionError(f"constant {node.value!r} is not a real number")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExpressionError(f"unknown function {name!r}; available: "
                                  + ", ".join(sorted(FUNCTIONS)))
        if len(node.args) != 1 or node.keywords:
            raise ExpressionError(f"{node.func.id}() takes exactly one argument")


def variables(tree):
    """The names an expression reads (function names excluded), in order of appearance."""
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = [node for node in ast.walk(tree)
             if isinstance(node, ast.Name) and id(node) not in calls]
    names = []
    for node in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
        if node.id not in names:
            names.append(node.id)
    return names


def parse_assignments(items):
    """{'x': -2.0, ...} from ['x=-2', ...]."""
    from .errors import ExpressionError

    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"variable {item!r} should look like name=value, e.g. x=-2")
        try:
            value = float(text)
        except ValueError:
            raise ExpressionError(f"value of {name!r} is {text!r}, not a number") from None
        if not math.isfinite(value):
            raise ExpressionError(f"value of {name!r} is {text!r}; it must be finite")
        if name in FUNCTIONS:
            raise ExpressionError(f"{name!r} is a function name; pick another variable name")
        values[name] = value
    return values


def evaluate(tree, leaves, retain_grads=False):
    """The Tensor the expression computes, with `leaves` ({name: Tensor}) as its inputs.

    Walks the tree with an explicit stack (post-order), so depth is never a problem.
    With `retain_grads`, every intermediate result keeps its `.grad` after backward
    (so a drawing can show the gradient at every node, not only at the inputs).
    """
    from .errors import ExpressionError

    results = {}
    stack = [(tree.body, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
            continue
        if isinstance(node, ast.Constant):
            results[id(node)] = float(node.value)
        elif isinstance(node, ast.Name):
            if node.id not in leaves:
                given = ", ".join(sorted(leaves)) or "none"
                raise ExpressionError(f"no value for variable {node.id!r} (given: {given}); "
                                      f"add {node.id}=<number>")
            results[id(node)] = leaves[node.id]
        elif isinstance(node, ast.UnaryOp):
            operand = results[id(node.operand)]
            results[id(node)] = -operand if isinstance(node.op, ast.USub) else operand
        elif isinstance(node, ast.BinOp):
            left, right = results[id(node.left)], results[id(node.right)]
            if not isinstance(left, Tensor) and not isinstance(right, Tensor):
                try:  # constant folding keeps the graph to the ops that touch a variable
                    results[id(node)] = float(_BINARY[type(node.op)](left, right))
                except (ZeroDivisionError, OverflowError, TypeError) as exc:
                    raise ExpressionError(f"constant part {ast.unparse(node)!r}: {exc}") from None
            else:
                if not isinstance(left, Tensor):
                    left = Tensor(left, dtype="float64")
                results[id(node)] = _BINARY[type(node.op)](left, right)
        elif isinstance(node, ast.Call):
            arg = results[id(node.args[0])]
            if not isinstance(arg, Tensor):
                arg = Tensor(arg, dtype="float64")
            results[id(node)] = FUNCTIONS[node.func.id](arg)
    out = results[id(tree.body)]
    if retain_grads:
        for value in results.values():
            if isinstance(value, Tensor) and value.requires_grad and not value.is_leaf:
                value.retain_grad()
    if not isinstance(out, Tensor):
        raise ExpressionError("the expression has no variables, so there is nothing to "
                              "differentiate; use names such as x and give x=<number>")
    return out


def _children(node):
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []
