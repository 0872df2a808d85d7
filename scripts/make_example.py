"""Render the bundled example video (licence-clean: NASA's public-domain astronaut portrait).

    python scripts/make_example.py
"""

from pathlib import Path

from facenerve.simulate import EXAMPLE_NAME, render_twitch_video

out = Path(__file__).resolve().parents[1] / "src" / "facenerve" / "examples" / EXAMPLE_NAME
truth = render_twitch_video(out, duration_s=20.0, twitch_side="left", twitch_rate_per_min=15,
                            blink_rate_per_min=12, random_state=7)
print(out, out.stat().st_size, "bytes;", truth)
