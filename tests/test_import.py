import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ["mediapipe", "cv2", "av", "sqlalchemy", "fastapi", "matplotlib", "scipy", "pandas"]
ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light():
    code = (
        "import sys, facenerve, facenerve.settings, facenerve.errors\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import facenerve pulled in: {out.stdout.strip()}"


def _import_graph() -> dict[str, set[str]]:
    """Every module's imports within the package, including imports inside functions and
    under TYPE_CHECKING (grimp reads them all)."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("facenerve", cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, via SciPy)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(graph)
    at = {m: i for i, m in enumerate(names)}
    # a package's __init__ importing its own submodules is not a cycle of the map
    edges = [(at[a], at[b]) for a, bs in graph.items() for b in bs
             if b in at and not b.startswith(a + ".") and not a.startswith(b + ".")]
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    m = coo_matrix(([1] * len(edges), (rows, cols)), shape=(len(names), len(names)))
    n, labels = connected_components(m, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for name, lab in zip(names, labels, strict=True):
        groups.setdefault(int(lab), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def test_cycle_check_finds_a_cycle():
    assert _cycles({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}) == [
        ["p.a", "p.b", "p.c"]]
    assert _cycles({"p.a": {"p.b"}, "p.b": set()}) == []


def test_no_import_cycle():
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_layers_import_downwards_only():
    """The layers contract in pyproject.toml ([tool.importlinter]): measure never imports
    twitch, exam, web or cli, and so on up the map."""
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    out = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_measure_imports_no_stack_above_it():
    graph = _import_graph()
    above = ("facenerve.twitch", "facenerve.exam", "facenerve.web", "facenerve.cli",
             "facenerve.triage", "facenerve.evaluation", "facenerve.simulate")
    bad = sorted((m, b) for m, bs in graph.items() if m.startswith(("facenerve.measure", "facenerve.media"))
                 for b in bs if b.startswith(above))
    assert not bad, bad


def test_the_landmark_model_loads_without_mediapipes_package_imports_and_mediapipe_still_imports_whole():
    """FaceMesh (and the face detector) load without ``mediapipe``'s own ``__init__``, which
    imports every solution and task, matplotlib and sounddevice; code that imports mediapipe
    afterwards still gets the whole package, with the same FaceMesh class."""
    code = (
        "import sys\n"
        "from facenerve.measure.landmarks import MediaPipeFaceDetector, MediaPipeFaceMesh\n"
        "from facenerve.settings import AnalysisSettings\n"
        "mesh, detector = MediaPipeFaceMesh(AnalysisSettings()), MediaPipeFaceDetector(AnalysisSettings())\n"
        "print('pulled in:', *(m for m in ('matplotlib', 'mediapipe.tasks', 'sounddevice') if m in sys.modules))\n"
        "import mediapipe as mp\n"
        "from mediapipe.tasks.python import vision\n"
        "print(mp.__version__, type(mesh._mesh) is mp.solutions.face_mesh.FaceMesh,\n"
        "      mp.solutions.drawing_utils.__name__, 'matplotlib' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    light, whole = out.stdout.splitlines()[-2:]
    assert light.split() == ["pulled", "in:"], f"loading the model {light}"
    from importlib.metadata import version

    assert whole.split() == [version("mediapipe"), "True", "mediapipe.python.solutions.drawing_utils", "True"]


def test_analyze_measures_the_video_before_it_imports_pandas():
    """pandas and pyarrow (69 MB) load after the measuring, not beside the span processes."""
    code = (
        "import sys\n"
        "from importlib.resources import files\n"
        "import facenerve.measure.run as run\n"
        "seen = []\n"
        "measure = run._measure_span\n"
        "def spy(*args, **kwargs):\n"
        "    seen.append('pandas' in sys.modules or 'pyarrow' in sys.modules)\n"
        "    return measure(*args, **kwargs)\n"
        "run._measure_span = spy\n"
        "from facenerve.twitch.analyze import analyze_video\n"
        "result = analyze_video(files('facenerve').joinpath('examples/astronaut_left_hfs.mp4'))\n"
        "print(seen, (result.events['kind'] == 'twitch').sum() > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[False] True"
