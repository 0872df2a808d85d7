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
    with pytest.raises(InputError, match="between"):
        AnalysisSettings.from_dict({"blink_max_s": -1})


@pytest.mark.parametrize("name,value", [("blink_min_drop", "nan"), ("iris_diameter_mm", 0),
                                        ("twitch_min_mm", "inf"), ("max_faces", "2.5"),
                                        ("max_faces", True), ("blink_max_s", "1e999"),
                                        ("finding_min_twitches", "9" * 400)])
def test_out_of_range_or_nonsense_values_are_refused(name, value):
    with pytest.raises(InputError) as err:
        AnalysisSettings.from_dict({name: value})
    assert len(str(err.value)) < 200  # the value is cut, never echoed whole


def test_every_setting_has_a_range_holding_its_default():
    from dataclasses import fields

    for f in fields(AnalysisSettings):
        lo, hi = f.metadata["range"]
        assert lo <= f.default <= hi, f.name
