import subprocess
import sys

HEAVY = ["mediapipe", "cv2", "av", "sqlalchemy", "fastapi", "matplotlib", "scipy", "pandas"]


def test_import_is_light():
    code = (
        "import sys, facenerve, facenerve.settings, facenerve.errors\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import facenerve pulled in: {out.stdout.strip()}"
