"""Spans measured in processes of their own (``measure.run``): answers, errors, deaths."""

import subprocess
import sys

import numpy as np
import pytest

from facenerve.errors import InputError
from facenerve.measure import run
from facenerve.media.video import Span, probe
from facenerve.settings import AnalysisSettings


def _span_process(path, info=None):
    return run._SpanProcess((str(path), info or probe(path), AnalysisSettings(), None, False, True))


def test_a_span_process_sends_back_what_it_measured_or_its_error(tiny_videos, tmp_path):
    child = _span_process(tiny_videos / "noface.mp4")
    try:
        part = child.wait(lambda: None)
    finally:
        child.close()
    assert isinstance(part, run._Part)
    assert (part.px["index"] == np.arange(30)).all() and np.isnan(part.px["ipd_px"]).all()  # noise: no face
    assert part.process_peak_rss_mb > 0

    gone = tmp_path / "gone.mp4"  # probed, then deleted before the process reads it
    gone.write_bytes((tiny_videos / "noface.mp4").read_bytes())
    info = probe(gone)
    gone.unlink()
    child = _span_process(gone, info)
    try:
        err = child.wait(lambda: None)
    finally:
        child.close()
    assert isinstance(err, InputError) and "cannot open" in str(err)


def test_a_span_whose_process_dies_is_measured_here(tiny_videos, tmp_path, monkeypatch):
    """A process that ends without an answer (killed, out of memory) loses nothing: its span is
    measured in the calling process; an error it sends back is raised."""
    monkeypatch.setattr(run, "_SPAN_MAIN", "import os; os._exit(3)")
    plan = [Span(0.0, 20.0, np.arange(2)), Span(20.0, 30.0, np.arange(2))]
    here = []

    def measure(span):
        here.append(span.start_s)
        return span.start_s

    parts = run._measure_spans(plan, measure, lambda span: _span_process(tiny_videos / "noface.mp4"),
                               lambda: None)
    assert parts == [0.0, 20.0] and here == [0.0, 20.0]

    monkeypatch.undo()
    info = probe(tiny_videos / "noface.mp4")
    with pytest.raises(InputError, match="cannot open"):
        run._measure_spans(plan, measure, lambda span: _span_process(tmp_path / "gone.mp4", info), lambda: None)


def test_a_span_process_never_runs_the_callers_script_again(tiny_videos, tmp_path):
    """``multiprocessing``'s spawn would import the caller's main script in the child: a script
    without a ``__main__`` guard would run twice."""
    marker = tmp_path / "ran.txt"
    script = tmp_path / "script.py"
    script.write_text(
        "from facenerve.measure.run import _SpanProcess\n"
        "from facenerve.media.video import probe\n"
        "from facenerve.settings import AnalysisSettings\n"
        f"open({str(marker)!r}, 'a').write('ran\\n')\n"
        f"path = {str(tiny_videos / 'noface.mp4')!r}\n"
        "child = _SpanProcess((path, probe(path), AnalysisSettings(), None, False, True))\n"
        "part = child.wait(lambda: None)\n"
        "child.close()\n"
        "print(len(part.px['index']))\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["30"]
    assert marker.read_text() == "ran\n"
