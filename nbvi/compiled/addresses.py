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
from numba.np.arrayobj import populate_array

__all__ = ["call_float64_with_int64s", "call_with_int64s", "float64_pointer", "int64_pointer", "unmanaged"]


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


def _int64_call(arguments, return_ir):
    """The code generator of a call of the C function at an address with the integers of the tuple
    ``arguments`` (a numba type), each converted to int64, returning ``return_ir`` (an llvmlite type)."""
    count = len(arguments.types)

    def codegen(context, builder, signature, args):
        values = [context.cast(builder, value, kind, types.int64)
                  for value, kind in zip(cgutils.unpack_tuple(builder, args[1], count), arguments.types)]
        address = context.cast(builder, args[0], signature.args[0], types.int64)
        function_type = ir.FunctionType(return_ir, [ir.IntType(64)] * count)
        result = builder.call(builder.inttoptr(address, function_type.as_pointer()), values)
        return context.get_dummy_value() if isinstance(return_ir, ir.VoidType) else result
    return codegen


def _integers(arguments):
    return isinstance(arguments, types.BaseTuple) and all(isinstance(t, types.Integer) for t in arguments.types)


@intrinsic
def call_with_int64s(typingctx, address, arguments):
    """Call the C function ``void f(int64, ..., int64)`` at ``address`` with the integers of the tuple
    ``arguments`` (addresses, ``arr.ctypes.data``, and sizes), each converted to int64."""
    if not _integers(arguments):
        return None
    return types.void(address, arguments), _int64_call(arguments, ir.VoidType())


@intrinsic
def call_float64_with_int64s(typingctx, address, arguments):
    """Call the C function ``double f(int64, ..., int64)`` at ``address`` as :func:`call_with_int64s` does;
    returns its float64."""
    if not _integers(arguments):
        return None
    return types.float64(address, arguments), _int64_call(arguments, ir.DoubleType())


@intrinsic
def unmanaged(typingctx, array):
    """The same array without numba's reference count: a view of the same memory, shape and strides whose
    meminfo is null. numba changes the count of an array it allocated or was given, atomically, at every
    view it takes (``vecs[Q]``) and every call of a helper it does not inline that gets the array; on a
    view of this one, each of those is a test of a null pointer. The caller must keep ``array`` alive while
    the view is in use (a kernel's arguments are, for the whole call)."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        source = context.make_array(array)(context, builder, value=args[0])
        view = context.make_array(array)(context, builder)
        populate_array(view, data=source.data, shape=source.shape, strides=source.strides,
                       itemsize=source.itemsize, meminfo=None)
        return view._getvalue()
    return array(array), codegen
