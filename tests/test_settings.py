import pytest

from facenerve.errors import InputError
from facenerve.settings import AnalysisSettings, settings_help


def test_defaults_and_help():
    names = [n for n, _, _ in settings_help()]
    assert "iris_diameter_mm" in names
    assert all(h for _, _, h in settings_help())
    assert AnalysisSettings().iris_diameter_mm == pytest.approx(11.77)


def test_from_dict_converts_and_rejects():
    s = AnalysisSettings.from_dict({"blink_min_drop": "0.3"})
    assert s.blink_min_drop == pytest.approx(0.3)
    with pytest.raises(InputError, match="unknown setting"):
        AnalysisSettings.from_dict({"nope": 1})
    with pytest.raises(InputError, match="must be a float"):
        AnalysisSettings.from_dict({"blink_min_drop": "abc"})
    with pytest.raises(InputError, match="negative"):
        AnalysisSettings.from_dict({"blink_max_s": -1})
