"""Metrics surrounded by noise on stdout: progress lines, a Python dict, a broken object, a trailing line."""

import json
import sys

import seedwise as sw

seeds = sw.Seeds.from_env()
x = float(seeds["init"].numpy().random())
print("loading data... 100%|##########|")
print({"not": "json"})  # a Python repr: single quotes
print(json.dumps({"score": x, "twice": 2 * x}))
print("{broken json")
print("done.", file=sys.stderr)
print("bye")
