"""A command run that reads its seeds with Seeds.from_env() and reports with sw.study.report (no torch).

Computes exactly what study_fns.synthetic computes, and a curve, so the command study can be
compared bit for bit with the function study.
"""

import sys

import seedwise as sw

SIGMA = {"init": 2.0, "data_order": 0.5, "augment": 0.0}

seeds = sw.Seeds.from_env()
offset = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
value = offset
for source, sigma in SIGMA.items():
    value += sigma * float(seeds[source].numpy().standard_normal())
for step in range(3):
    sw.study.report(step=step, loss=value / (step + 1))
sw.study.report(score=value, double=2 * value)
