"""Progress bar for fitting loops, written to stderr with the standard library only.

What it shows matches PyMC3's fit (fastprogress) bar and its closing log lines::

    [############------------------] 40.00% [4000/10000 00:01<00:02 Average Loss = 12.345]
    Finished [100%]: Average Loss = 1.2345
    Interrupted at 4,349 [43%]: Average Loss = 1.2345

The fit loop calls ``update(step, loss)`` every iteration, so that call is kept to a handful of
operations: store the loss in a ring buffer, remember the step, compare the step with a precomputed
``_next_check``. Everything else (reading the clock, averaging, formatting) runs only when the step
reaches ``_next_check``.

* Average: like PyMC3's ``_infmean``, the mean of the finite losses among the last ``WINDOW`` = 1000
  updates (nan and inf are left out; nan when none is finite). It is computed from the ring buffer
  only when a line is written (at most ~10 times a second), so ``update`` stays O(1) and the average
  is exact: a running sum would drift when the loss falls by orders of magnitude, and one inf would
  poison it for good.
* Terminal (``stream.isatty()``): the bar is redrawn in place with a carriage return, at most once per
  ``min_interval`` seconds. The clock is read every ``_stride`` steps, and the stride adapts to the
  observed rate so that a read happens about every ``min_interval / 4`` seconds (it at most doubles
  from one read to the next, and drops at once when the loop slows down).
* Not a terminal (batch jobs, CI logs): no carriage returns and no clock reads between lines; one plain
  line when the step reaches 25, 50 and 75 % of ``total``, then the closing line.
"""
import math
import shutil
import sys
import time

__all__ = ["ProgressBar", "format_time"]


def format_time(seconds):
    """``mm:ss``, or ``h:mm:ss`` from one hour on (fastprogress' format); ``--:--`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--:--"
    t = int(max(seconds, 0.0))
    h, m, s = t // 3600, t // 60 % 60, t % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Progress of a loop of ``total`` steps, with the running average of its loss.

    Parameters
    ----------
    total : int
        Number of steps the loop will run (``n`` of ``fit``); 0 is allowed (initialisation only).
    enabled : bool
        False writes nothing at all; ``update`` still records the loss (two stores and a comparison),
        so ``average_loss`` stays available.
    stream : file-like, optional
        Where to write; ``sys.stderr`` when None. Redraws in place only when ``stream.isatty()``.
    label : str
        Printed before the bar, e.g. the method's name.
    min_interval : float
        Least number of seconds between two redraws on a terminal.
    clock : callable
        Returns the time in seconds; tests pass a fake one.

    Examples
    --------
    >>> with ProgressBar(n) as bar:          # doctest: +SKIP
    ...     for step in range(1, n + 1):
    ...         bar.update(step, loss_fn())
    """

    WINDOW = 1000  # losses in the running average, as PyMC3's fit
    BAR_WIDTH = 30  # characters of '#'/'-', fewer if the terminal is narrow
    MILESTONES = (1, 2, 3)  # quarters of total at which a plain (non-terminal) line is written

    __slots__ = ("_losses", "_window", "_step", "_next_check", "_total", "_enabled", "_stream", "_tty",
                 "_label", "_min_interval", "_clock", "_start", "_stride", "_last_check", "_last_draw",
                 "_drawn_len", "_milestones", "_columns", "_width", "_closed")

    def __init__(self, total, enabled=True, stream=None, label="", min_interval=0.1, clock=time.monotonic):
        if int(total) != total or total < 0:
            raise ValueError(f"total must be a non-negative integer, got {total!r}")
        if not min_interval >= 0:
            raise ValueError(f"min_interval must be >= 0 seconds, got {min_interval!r}")
        self._total = int(total)
        self._enabled = bool(enabled)
        self._stream = sys.stderr if stream is None else stream
        isatty = getattr(self._stream, "isatty", None)
        self._tty = bool(isatty()) if isatty is not None else False
        self._label = f"{label} " if label else ""
        self._min_interval = float(min_interval)
        self._clock = clock
        self._window = self.WINDOW
        self._losses = [math.nan] * self.WINDOW  # ring buffer: the loss of step s sits at s % WINDOW
        self._step = 0
        self._closed = False
        self._start = clock()
        self._last_check = (0, self._start)  # (step, time) of the last clock read
        self._last_draw = -math.inf
        self._drawn_len = 0
        self._stride = 1
        self._columns = shutil.get_terminal_size().columns if self._tty else 0
        self._width = self.BAR_WIDTH
        if self._tty:  # narrow terminal: shrink the bar once, so that a long line still fits
            longest = len(self._render(self._total, self._start, 0).replace("nan", "-1.2346e+05"))
            self._width = max(0, min(self.BAR_WIDTH, self._columns - 1 - longest))
        quarters = {-(-self._total * q // 4) for q in self.MILESTONES}  # ceil(total * q / 4)
        self._milestones = sorted(s for s in quarters if s > 0)
        if not self._enabled:
            self._next_check = sys.maxsize
        elif self._tty:
            self._next_check = 1  # draw at the first step
        else:
            self._next_check = self._milestones[0] if self._milestones else sys.maxsize

    # -- the hot path ------------------------------------------------------------------------------
    def update(self, step, loss):
        """Record ``loss`` of the 1-based ``step``; redraw or write a line only when it is due."""
        self._losses[step % self._window] = loss
        self._step = step
        if step >= self._next_check:
            self._check(step)

    def update_many(self, step, losses):
        """Record the losses of the steps up to the 1-based ``step`` (the last ``len(losses)`` of them), as
        many ``update`` calls would; a fit that runs steps in blocks reports a block at once."""
        first = step - len(losses) + 1
        for k in range(max(first, step - self._window + 1), step + 1):
            self._losses[k % self._window] = losses[k - first]
        self._step = step
        if step >= self._next_check:
            self._check(step)

    # -- the slow path -----------------------------------------------------------------------------
    def _check(self, step):
        if not self._tty:
            self._write(self._render(step, self._clock(), self._width) + "\n")
            while self._milestones and self._milestones[0] <= step:
                self._milestones.pop(0)
            self._next_check = self._milestones[0] if self._milestones else sys.maxsize
            return
        now = self._clock()
        if now - self._last_draw >= self._min_interval:
            self._redraw(step, now)
        # steps per min_interval / 4 at the rate seen since the last read; at most double the stride
        last_step, last_time = self._last_check
        elapsed = now - last_time
        stride = 2 * self._stride
        if elapsed > 0:
            stride = min(stride, int((step - last_step) * (self._min_interval / 4) / elapsed))
        self._stride = max(1, stride)
        self._last_check = (step, now)
        self._next_check = step + self._stride

    def _redraw(self, step, now, end=""):
        text = self._render(step, now, self._width)[:self._columns - 1]  # a wrapped line breaks \r
        pad = " " * max(0, self._drawn_len - len(text))  # wipe the tail of a longer previous line
        self._write("\r" + text + pad + end)
        self._drawn_len = len(text)
        self._last_draw = now

    def _render(self, step, now, width):
        total = self._total
        frac = min(step / total, 1.0) if total else 1.0
        filled = int(width * frac)
        elapsed = now - self._start
        remaining = elapsed * max(total - step, 0) / step if step else None
        return (f"{self._label}[{'#' * filled}{'-' * (width - filled)}] {100 * frac:.2f}% "
                f"[{step}/{total} {format_time(elapsed)}<{format_time(remaining)} "
                f"Average Loss = {self.average_loss:,.5g}]")

    def _write(self, text):
        self._stream.write(text)
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()

    @property
    def average_loss(self):
        """Mean of the finite losses among the last ``WINDOW`` updates (PyMC3's ``_infmean``).

        When none of them is finite: their plain mean (inf if all are inf, else nan); nan before the
        first update. Steps are taken to run 1, 2, 3, ... as ``fit`` calls them.
        """
        step = self._step
        recent = self._losses if step >= self._window else self._losses[1:step + 1]
        finite = [x for x in recent if math.isfinite(x)]
        n = len(finite)
        if n:
            return math.fsum(x / n for x in finite)  # x / n first, so the sum cannot overflow
        return sum(recent) / len(recent) if recent else math.nan

    @property
    def step(self):
        """The last step passed to ``update`` (0 before the first)."""
        return self._step

    def close(self, interrupted=False, converged=False):
        """Finish the bar and write the closing line, as PyMC3's fit logs it.

        ``Finished [100%]: Average Loss = 1.2345``, or ``Interrupted at 4,349 [43%]: Average Loss = ...``
        when ``interrupted`` or when the last step is short of ``total``, or, for a fit that stops when it
        has ``converged`` (``total`` is then its most steps), ``Converged at 312: Loss = ...`` with the last
        loss. As in PyMC3, a run of fewer
        than 10 steps reports the last ``Loss`` instead of the average, and ``total=0`` reports
        ``Initialization only``. Closing twice writes nothing more.
        """
        if self._closed:
            return
        self._closed = True
        if not self._enabled:
            return
        step, total = self._step, self._total
        if self._tty:
            self._redraw(step, self._clock(), end="\n")
        if total < 10:
            loss = f"Loss = {self._losses[step % self._window] if step else math.nan:,.5g}"
        else:
            loss = f"Average Loss = {self.average_loss:,.5g}"
        if converged and not interrupted:
            last = self._losses[step % self._window] if step else math.nan
            self._write(f"Converged at {step:,d}: Loss = {last:,.5g}\n")
            return
        if interrupted or step < total:
            pct = 100 * step // total if total else 100
            self._write(f"Interrupted at {step:,d} [{pct:.0f}%]: {loss}\n")
        elif total == 0:
            self._write("Initialization only\n")
        else:
            self._write(f"Finished [100%]: {loss}\n")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(interrupted=exc_type is not None)
        return False
