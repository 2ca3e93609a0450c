"""Ctrl-C that waits for the end of the current step.

A fit or a chain runs compiled blocks of many steps; a KeyboardInterrupt raised by Python between a block's
return and its bookkeeping would leave the parameters ahead of the recorded history. Inside
:func:`deferred_interrupt`, Ctrl-C only sets a flag, which the loop reads where its state is consistent.
"""
import signal
import threading
from contextlib import contextmanager


@contextmanager
def deferred_interrupt():
    """Within the block, SIGINT sets a flag instead of raising; yields a function that says whether it came.

    Only where Ctrl-C would raise KeyboardInterrupt (Python's default handler in force, in the main thread):
    a process that ignores SIGINT, or handles it itself (a user's handler, an enclosing fit), keeps doing
    so, and the function always says False. The previous handler is restored after the block.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: False
        return
    received = []

    def note(signum, frame):
        received.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, note)
    except ValueError:  # no signals here (e.g. an embedded interpreter)
        yield lambda: False
        return
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGINT, previous)
