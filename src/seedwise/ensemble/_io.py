"""The ensemble file: safetensors with JSON metadata, nothing pickled.

Tensors, stacked along the member dimension whichever engine wrote them (so either engine
can load the file): ``param/<name>``, ``buffer/<name>`` and ``optim/<name>/<key>`` (the
optimiser state of parameter ``<name>``). Metadata: ``seedwise_ensemble`` (the format,
:data:`FORMAT`), the settings the caller gives (strings), and ``param_groups`` (the
optimiser's parameter groups as JSON, without their ``params``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import torch

from seedwise.ensemble._engine import Engine, Tensors
from seedwise.errors import InvalidArgumentError, StateFileError

__all__ = ["FORMAT", "write", "read", "restore"]

#: The file format written; files of a higher format are refused.
FORMAT = 1


def write(path: str | os.PathLike[str], engine: Engine, names: list[str], settings: dict[str, str]) -> None:
    """Write the engine's members and optimiser state, and ``settings``, to ``path``.

    ``names``: the parameter names in the optimiser's order.
    """
    from safetensors.torch import save_file

    params, buffers = engine.state_tensors()
    state, groups = engine.optimizer_state()
    tensors = {f"param/{n}": t.contiguous().cpu() for n, t in params.items()}
    tensors.update({f"buffer/{n}": t.contiguous().cpu() for n, t in buffers.items()})
    for idx, values in state.items():
        tensors.update({f"optim/{names[idx]}/{key}": t.contiguous().cpu() for key, t in values.items()})
    try:
        groups_json = json.dumps([{k: v for k, v in g.items() if k != "params"} for g in groups])
    except TypeError as exc:
        raise InvalidArgumentError(f"the optimiser's settings cannot be saved as JSON ({exc})") from None
    metadata = {"seedwise_ensemble": str(FORMAT), **settings, "param_groups": groups_json}
    save_file(tensors, os.fspath(path), metadata=metadata)


def read(path: str) -> tuple[dict[str, str], Tensors]:
    """``(metadata, tensors)`` of an ensemble file; a clear error for anything else."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt") as f:
            meta: dict[str, str] = f.metadata() or {}
            tensors: Tensors = {name: f.get_tensor(name) for name in f.keys()}
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise StateFileError(f"cannot read ensemble file {path!r}: {exc}") from None
    if "seedwise_ensemble" not in meta:
        raise StateFileError(f"{path!r} is not a seedwise ensemble file (no 'seedwise_ensemble' metadata)")
    if int(meta["seedwise_ensemble"]) > FORMAT:
        raise StateFileError(
            f"{path!r} was written by a newer seedwise (format {meta['seedwise_ensemble']}); upgrade seedwise"
        )
    return meta, tensors


def restore(
    engine: Engine,
    tensors: Tensors,
    groups: list[dict[str, Any]],
    *,
    names: list[str],
    buffer_names: list[str],
    device: torch.device,
    path: str,
) -> None:
    """Load what :func:`read` returned into ``engine`` (built for the same ``make_model``)."""
    expected = {f"param/{n}" for n in names} | {f"buffer/{n}" for n in buffer_names}
    missing = expected - set(tensors)
    if missing:
        raise StateFileError(f"{path!r} does not match make_model(): missing {sorted(missing)[:5]}")
    with torch.no_grad():
        for n in names:
            engine.load_tensor("param", n, tensors[f"param/{n}"].to(device), path)
        for n in buffer_names:
            engine.load_tensor("buffer", n, tensors[f"buffer/{n}"].to(device), path)
    state: dict[int, Tensors] = {}
    for name, value in tensors.items():
        if not name.startswith("optim/"):
            continue
        pname, key = name[len("optim/") :].rsplit("/", 1)
        if pname not in names:
            raise StateFileError(f"{path!r}: optimiser state for unknown parameter {pname!r}")
        state.setdefault(names.index(pname), {})[key] = value.to(device)
    if not state:
        return
    params_idx = list(range(len(names)))
    for g in groups:
        g["params"] = params_idx
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    engine.load_optimizer_state((state, groups))
