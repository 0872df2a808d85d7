"""The twitch stack: events (blinks, twitches) -> findings (rates, SMC, Jankovic) -> report.

``analyze.analyze_video`` measures a video and finds its events; ``outputs.write_outputs``
writes what ``facenerve analyze`` produces.
"""
