"""Text of a small `func.func @main()` test program for mlir-runner.

Inputs are `arith.constant dense<"0x...">` tensors (raw little-endian bytes:
exact for NaN, inf and bf16, and much faster to parse than decimal lists),
ops are called in MLIR's generic form, and every result is printed with
`printMemrefF32` / `printMemrefI32` (f16 and bf16 widened to f32 first).
"""

import numpy as np

from adamas.reference import round_to_bf16


def tensor_type(shape, elem):
    """`tensor<1x?x4xf32>`; None in `shape` is a dynamic dimension."""
    dims = "".join(("?" if d is None else str(d)) + "x" for d in shape)
    return f"tensor<{dims}{elem}>"


def dense_hex(array, elem):
    """The `"0x..."` form of a dense constant of element type `elem`."""
    if elem == "bf16":
        bits = round_to_bf16(array).view(np.uint32) >> 16
        raw = bits.astype("<u2")
    else:
        raw = np.asarray(array).astype({"f16": "<f2", "f32": "<f4", "i32": "<i4"}[elem])
    return '"0x' + np.ascontiguousarray(raw).tobytes().hex().upper() + '"'


def f32_literal(x):
    """A float literal MLIR parses back to the same f32 (9 significant digits, with a dot)."""
    return f"{float(np.float32(x)):.9e}"


def i64_attr(v):
    return f"{int(v)} : i64"


def f32_attr(x):
    return f"{f32_literal(x)} : f32"


def bool_attr(b):
    return "true" if b else "false"


def f32_array_attr(values):
    return "array<f32: " + ", ".join(f32_literal(v) for v in values) + ">"


class Value:
    """An SSA tensor value: its name, shape (None = dynamic) and element type."""

    def __init__(self, name, shape, elem):
        self.name, self.shape, self.elem = name, tuple(shape), elem

    @property
    def type(self):
        return tensor_type(self.shape, self.elem)


class Program:
    """Accumulates the body of `@main` and the runtime functions it calls."""

    def __init__(self):
        self._body = []
        self._count = 0
        self._printers = set()

    def _name(self, hint):
        self._count += 1
        return f"%{hint}{self._count}"

    def constant(self, array, elem, hint="c"):
        v = Value(self._name(hint), np.shape(array), elem)
        self._body.append(f"{v.name} = arith.constant dense<{dense_hex(array, elem)}> : {v.type}")
        return v

    def with_dynamic_dims(self, value, dims):
        """`tensor.cast` of `value` to a type whose dims `dims` are dynamic."""
        dims = {d % len(value.shape) for d in dims}
        shape = [None if i in dims else d for i, d in enumerate(value.shape)]
        v = Value(self._name("dyn"), shape, value.elem)
        self._body.append(f"{v.name} = tensor.cast {value.name} : {value.type} to {v.type}")
        return v

    def op(self, name, operands, result_shape, result_elem, attrs=None, hint="r"):
        """One op in generic form; `attrs` maps names to attribute text."""
        v = Value(self._name(hint), result_shape, result_elem)
        attr_text = ""
        if attrs:
            attr_text = " {" + ", ".join(f"{k} = {a}" for k, a in attrs.items()) + "}"
        args = ", ".join(o.name for o in operands)
        types = ", ".join(o.type for o in operands)
        self._body.append(f'{v.name} = "{name}"({args}){attr_text} : ({types}) -> {v.type}')
        return v

    def print(self, value):
        if value.elem in ("f16", "bf16"):
            wide = Value(self._name("ext"), value.shape, "f32")
            self._body.append(f"{wide.name} = arith.extf {value.name} : {value.type} to {wide.type}")
            value = wide
        scalar = {"f32": "f32", "i32": "i32"}[value.elem]
        printer = "printMemref" + scalar.upper()
        self._printers.add((printer, scalar))
        unranked = f"tensor<*x{scalar}>"
        u = self._name("u")
        self._body.append(f"{u} = tensor.cast {value.name} : {value.type} to {unranked}")
        self._body.append(f"call @{printer}({u}) : ({unranked}) -> ()")

    def text(self, comment=""):
        lines = [f"// {line}" for line in comment.splitlines()]
        for printer, scalar in sorted(self._printers):
            lines.append(f"func.func private @{printer}(tensor<*x{scalar}>)")
        lines.append("func.func @main() {")
        lines += ["  " + line for line in self._body]
        lines += ["  return", "}", ""]
        return "\n".join(lines)
