"""Crashes (exit status 3, a message on stderr) for one init seed in three; otherwise reports a metric."""

import json
import sys

import seedwise as sw

seeds = sw.Seeds.from_env()
if int(seeds["init"]) % 3 == 0:
    print("training...", flush=True)
    print("RuntimeError: loss is NaN at step 7", file=sys.stderr)
    sys.exit(3)
print(json.dumps({"score": float(int(seeds["init"]) % 1000)}))
