"""from_env.py's metric, after sleeping; appends "<cell> <seeds>" to a log when it finishes (for kill -9 tests)."""

import os
import sys
import time

import seedwise as sw

seeds = sw.Seeds.from_env()
time.sleep(float(os.environ.get("STUDY_TEST_SLEEP", "0")))
value = (
    1.0
    + 2.0 * float(seeds["init"].numpy().standard_normal())
    + 0.5 * float(seeds["data_order"].numpy().standard_normal())
)
sw.study.report(score=value)
with open(sys.argv[1], "a") as f:
    f.write(f"{os.environ['SEEDWISE_CELL']} {os.getpid()}\n")
