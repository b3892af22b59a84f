"""Run in a fresh process by test_data_resume.py: load a loader state from JSON, write the rest of the epoch to .npz."""

from __future__ import annotations

import json
import sys

import numpy as np
from data_loader_kit import KeyedNoise

import seedwise as sw
from seedwise.data import DataLoader

state_path, out_path, num_workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(state_path) as f:
    state = json.load(f)
seeds = sw.Seeds(state["test_seed"])
loader = DataLoader(
    KeyedNoise(45, seeds=seeds["augment"]), batch_size=4, shuffle=True, seeds=seeds, num_workers=num_workers
)
loader.load_state_dict(state["loader"])
loader.set_epoch(state["loader"]["epoch"])  # the usual loop calls it: must keep the position
arrays = {}
for k, (x, y) in enumerate(loader):
    arrays[f"x{k}"], arrays[f"y{k}"] = x.numpy(), y.numpy()
loader.set_epoch(loader.epoch + 1)
for k, (x, y) in enumerate(loader):
    arrays[f"next_x{k}"], arrays[f"next_y{k}"] = x.numpy(), y.numpy()
np.savez(out_path, **arrays)
