"""The exam stack: protocol and task times -> segments -> task measures -> grades -> report.

``pipeline.analyze_exam`` chains them; ``outputs.write_exam_outputs`` writes what
``facenerve exam`` produces.
"""
