"""ProgressBar: redraw cadence on a fake clock, plain lines off a terminal, PyMC3's closing lines."""
import io
import math

import numpy as np
import pytest

from nbvi.progress import ProgressBar, format_time


class FakeClock:
    """A clock that moves only when told; counts how often it is read."""

    def __init__(self, t=0.0):
        self.t = t
        self.reads = 0

    def __call__(self):
        self.reads += 1
        return self.t


class Stream(io.StringIO):
    """A StringIO that says whether it is a terminal and records the fake time of every write."""

    def __init__(self, tty, clock=None):
        super().__init__()
        self.tty = tty
        self.clock = clock
        self.writes = []  # (fake time, text)

    def isatty(self):
        return self.tty

    def write(self, text):
        self.writes.append((self.clock.t if self.clock else None, text))
        return super().write(text)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # shutil.get_terminal_size reads it first: a full 30-wide bar


def run(total, steps=None, dt=0.0, tty=False, loss=1.0, **kwargs):
    """Update a bar for ``steps`` steps (all of ``total`` by default), the clock moving ``dt`` per step."""
    clock = FakeClock()
    stream = Stream(tty, clock)
    bar = ProgressBar(total, stream=stream, clock=clock, **kwargs)
    for step in range(1, (total if steps is None else steps) + 1):
        clock.t += dt
        bar.update(step, loss(step) if callable(loss) else loss)
    return bar, stream, clock


def redraws(stream):
    return [(t, text) for t, text in stream.writes if text.startswith("\r")]


# -- terminal -----------------------------------------------------------------------------------------
def test_terminal_redraws_in_place_at_most_every_min_interval():
    bar, stream, clock = run(10_000, dt=0.001, tty=True, min_interval=0.1)  # 10 s of fake time
    times = [t for t, _ in redraws(stream)]
    assert np.all(np.diff(times) >= 0.1)
    assert 60 <= len(times) <= 101  # about one redraw per 0.1 s, none skipped for long
    assert clock.reads < 10_000 // 10  # the clock is read every few steps, not every update
    assert "\n" not in stream.getvalue()  # one line, redrawn in place
    bar.close()
    assert stream.getvalue().count("\n") == 2  # the finished bar, then the closing line


def test_terminal_first_frame_format():
    clock = FakeClock()
    stream = Stream(True, clock)
    bar = ProgressBar(10_000, stream=stream, clock=clock, label="ADVI")
    clock.t = 1.5
    bar.update(4000, 12.345)
    assert stream.getvalue() == (
        "\rADVI [############------------------] 40.00% [4000/10000 00:01<00:02 Average Loss = 12.345]")


def test_terminal_check_stride_follows_a_slowdown():
    clock = FakeClock()
    stream = Stream(True, clock)
    bar = ProgressBar(10_000, stream=stream, clock=clock, min_interval=0.1)
    for step in range(1, 10_001):
        clock.t += 1e-4 if step <= 5000 else 1e-3  # 10x slower from the middle (0.5 s, then 5 s)
        bar.update(step, 1.0)
    times = np.array([t for t, _ in redraws(stream)])
    gaps = np.diff(times)
    assert np.all(gaps <= 0.1 + 250 * 1e-3 + 1e-9)  # at worst one fast-phase stride (250 steps) late
    late = gaps[times[1:] > 3.0]
    assert len(late) > 10 and np.all(late <= 0.13)  # re-adapted: a clock read every ~25 steps (0.025 s)


def test_terminal_shorter_line_wipes_the_longer_one():
    # the average drops from 1.2346e+05 to 1 as the first 1000 losses leave the window
    bar, stream, _ = run(3000, dt=0.01, tty=True, loss=lambda s: 123456.7 if s <= 1000 else 1.0)
    bar.close()
    frames = [text.strip("\r\n") for _, text in redraws(stream)]
    assert "Average Loss = 1]" in frames[-1]
    assert any(f.endswith(" ") for f in frames)  # some line was shorter than the one before it
    assert all(len(new) >= len(old.rstrip()) for old, new in zip(frames, frames[1:]))  # spaces over the tail


def test_narrow_terminal_shrinks_the_bar(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    bar, stream, _ = run(100_000, steps=50_000, dt=0.001, tty=True, loss=-12345.6789, label="ADVI")
    bar.close()
    frames = [text.strip("\r\n").rstrip() for _, text in redraws(stream)]
    assert len(frames) > 10
    assert all(len(f) < 80 for f in frames)
    assert all(f.endswith("Average Loss = -12,346]") for f in frames)  # the bar gave way, not the loss
    assert 0 < frames[-1].count("#") + frames[-1].count("-") - 1 < ProgressBar.BAR_WIDTH  # 1 '-' in the loss


def test_very_narrow_terminal_cuts_the_line(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    bar, stream, _ = run(1000, dt=0.01, tty=True)
    bar.close()
    frames = [text.strip("\r\n") for _, text in redraws(stream)]
    assert len(frames) > 10 and all(len(f) == 39 for f in frames)


# -- not a terminal -----------------------------------------------------------------------------------
def test_not_a_terminal_writes_a_few_plain_lines():
    bar, stream, clock = run(10_000, dt=0.001, tty=False, label="ADVI")
    bar.close()
    out = stream.getvalue()
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 4
    for line, pct, step in zip(lines, ["25.00%", "50.00%", "75.00%"], [2500, 5000, 7500], strict=False):
        assert line.startswith("ADVI [") and pct in line and f"[{step}/10000 " in line
    assert lines[-1] == "Finished [100%]: Average Loss = 1"
    assert clock.reads <= 5  # start, three lines, close: none in between


def test_not_a_terminal_tiny_total_writes_each_quarter_once():
    bar, stream, _ = run(2, tty=False)
    bar.close()
    assert stream.getvalue().splitlines()[:-1] == [
        "[###############---------------] 50.00% [1/2 00:00<00:00 Average Loss = 1]",
        "[##############################] 100.00% [2/2 00:00<00:00 Average Loss = 1]",
    ]


# -- closing lines ------------------------------------------------------------------------------------
@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("total, steps, loss, interrupted, expected", [
    (10_000, 10_000, 4976.8, False, "Finished [100%]: Average Loss = 4,976.8"),
    (10_000, 10_000, 1.23456789, False, "Finished [100%]: Average Loss = 1.2346"),
    (10_000, 10_000, 1234567.0, False, "Finished [100%]: Average Loss = 1.2346e+06"),
    (10_000, 4349, 12345.678, False, "Interrupted at 4,349 [43%]: Average Loss = 12,346"),
    (10_000, 10_000, 2.0, True, "Interrupted at 10,000 [100%]: Average Loss = 2"),
    (100, 0, 1.0, False, "Interrupted at 0 [0%]: Average Loss = nan"),
    (5, 5, 3.5, False, "Finished [100%]: Loss = 3.5"),  # PyMC3: under 10 steps, the last loss
    (5, 3, 3.5, False, "Interrupted at 3 [60%]: Loss = 3.5"),
    (0, 0, 1.0, False, "Initialization only"),
])
def test_closing_line(tty, total, steps, loss, interrupted, expected):
    bar, stream, _ = run(total, steps=steps, tty=tty, loss=loss)
    bar.close(interrupted=interrupted)
    out = stream.getvalue()
    assert out.endswith("\n" + expected + "\n") or out == expected + "\n"


def test_close_twice_writes_once():
    bar, stream, _ = run(20, tty=False)
    bar.close()
    before = stream.getvalue()
    bar.close(interrupted=True)
    assert stream.getvalue() == before


def test_context_manager_finishes_or_reports_the_interrupt():
    stream = Stream(False)
    with ProgressBar(100, stream=stream) as bar:
        for step in range(1, 101):
            bar.update(step, 2.0)
    assert stream.getvalue().endswith("Finished [100%]: Average Loss = 2\n")

    stream = Stream(False)
    with pytest.raises(KeyboardInterrupt), ProgressBar(100, stream=stream) as bar:
        for step in range(1, 101):
            bar.update(step, float(step))
            if step == 43:
                raise KeyboardInterrupt
    assert stream.getvalue().endswith("Interrupted at 43 [43%]: Average Loss = 22\n")

    stream = Stream(False)  # an exception after the last step still counts as an interruption
    with pytest.raises(RuntimeError), ProgressBar(10, stream=stream) as bar:
        for step in range(1, 11):
            bar.update(step, 1.0)
        raise RuntimeError("callback failed")
    assert stream.getvalue().endswith("Interrupted at 10 [100%]: Average Loss = 1\n")


# -- the running average ------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 999, 1000, 2500])
def test_average_is_the_mean_of_the_last_window(n):
    losses = np.random.default_rng(0).normal(100.0, 30.0, size=n)
    bar, stream, _ = run(10_000, steps=n, tty=False, loss=lambda s: losses[s - 1])
    expected = losses[-ProgressBar.WINDOW:].mean()
    assert bar.average_loss == pytest.approx(expected, rel=1e-12)
    bar.close()
    assert stream.getvalue().endswith(f"Average Loss = {expected:,.5g}\n")


def test_non_finite_losses_are_left_out_of_the_average():
    values = [1.0, math.nan, 3.0, math.inf, -math.inf, 5.0]
    bar, _, _ = run(100, steps=len(values), loss=lambda s: values[s - 1])
    assert bar.average_loss == 3.0  # PyMC3's _infmean: the mean of the finite ones


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("loss, shown", [(math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan")])
def test_only_non_finite_losses_are_shown_not_raised(tty, loss, shown):
    bar, stream, _ = run(40, dt=0.05, tty=tty, loss=loss)
    bar.close(interrupted=True)
    out = stream.getvalue()
    assert f"Average Loss = {shown}]" in out
    assert out.endswith(f"Interrupted at 40 [100%]: Average Loss = {shown}\n")


# -- switched off, arguments --------------------------------------------------------------------------
@pytest.mark.parametrize("tty", [False, True])
def test_disabled_writes_nothing(tty):
    bar, stream, clock = run(10_000, dt=0.01, tty=tty, enabled=False)
    bar.close()
    with pytest.raises(ValueError), ProgressBar(10, enabled=False, stream=stream):
        raise ValueError
    assert stream.getvalue() == ""
    assert clock.reads == 1  # only the start time: update never looks at the clock
    assert bar.average_loss == 1.0  # still tracked, for the caller


@pytest.mark.parametrize("kwargs, message", [
    ({"total": -1}, "total"), ({"total": 2.5}, "total"), ({"total": 10, "min_interval": -0.1}, "min_interval"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProgressBar(stream=Stream(False), **kwargs)


@pytest.mark.parametrize("seconds, text", [
    (0, "00:00"), (59.9, "00:59"), (61, "01:01"), (3599, "59:59"), (3661, "1:01:01"), (36000, "10:00:00"),
    (None, "--:--"), (math.inf, "--:--"),
])
def test_format_time(seconds, text):
    assert format_time(seconds) == text
