"""Calling a compiled C function by its address from numba code, with arrays passed as addresses.

numba compiles a callee's code into every kernel that calls it and optimises it again there: the tape
interpreter, called by the NUTS trajectories, the ADVI and SVGD blocks and the plain log-density, was
compiled four times over on a fresh install (docs/benchmarks.md). Compiled once as a C function
(:func:`numba.cfunc`, cached on disk like a kernel), it is called through a pointer instead: the callers
take its address as an argument (an address is only valid in the process that took it, so it must not
become a constant of a cached kernel) and pass every array as the address of its first element with its
shape. The arrays must be C-contiguous.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["call_with_int64s", "float64_pointer", "int64_pointer"]


@intrinsic
def float64_pointer(typingctx, address):
    """The address (int64) of a float64 as a pointer, for ``numba.carray``."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.PointerType(ir.DoubleType()))
    return types.CPointer(types.float64)(types.int64), codegen


@intrinsic
def int64_pointer(typingctx, address):
    """The address (int64) of an int64 as a pointer, for ``numba.carray``."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.PointerType(ir.IntType(64)))
    return types.CPointer(types.int64)(types.int64), codegen


@intrinsic
def call_with_int64s(typingctx, address, arguments):
    """Call the C function ``void f(int64, ..., int64)`` at ``address`` with the integers of the tuple
    ``arguments`` (addresses, ``arr.ctypes.data``, and sizes), each converted to int64."""
    if not (isinstance(arguments, types.BaseTuple) and all(isinstance(t, types.Integer) for t in arguments.types)):
        return None
    count = len(arguments.types)

    def codegen(context, builder, signature, args):
        values = [context.cast(builder, value, kind, types.int64)
                  for value, kind in zip(cgutils.unpack_tuple(builder, args[1], count), arguments.types)]
        address = context.cast(builder, args[0], signature.args[0], types.int64)
        function_type = ir.FunctionType(ir.VoidType(), [ir.IntType(64)] * count)
        builder.call(builder.inttoptr(address, function_type.as_pointer()), values)
        return context.get_dummy_value()
    return types.void(address, arguments), codegen
