"""PyTorch: the CPU generator, every CUDA device's generator, and deterministic kernels."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import numpy as np

from seedwise._optional import distribution_version, module_available
from seedwise.errors import StateFileError
from seedwise.process.settings import Setting, State

NAME = "torch"
CUBLAS_WORKSPACE = ":4096:8"


def available() -> bool:
    return module_available("torch")


def imported() -> bool:
    return sys.modules.get("torch") is not None


def version() -> str | None:
    return distribution_version("torch") if available() else None


def seed(seed: int) -> list[Setting]:
    import torch

    seed_generators(seed)
    settings = [Setting(NAME, "torch.manual_seed", str(seed))]
    if _accelerators()[0]:
        settings.append(Setting(NAME, "torch.cuda.manual_seed_all", f"{seed} ({torch.cuda.device_count()} devices)"))
    return settings


def seed_generators(seed: int) -> None:
    """:func:`seed` without its report: for code that seeds at every training step."""
    import torch

    # What torch.manual_seed does, without its per-call cost on machines without CUDA
    # (it records a traceback to seed CUDA lazily).
    torch.default_generator.manual_seed(seed)  # global-rng-ok: this function's job
    cuda, mps = _accelerators()
    if mps:
        torch.mps.manual_seed(seed)
    if cuda:
        torch.cuda.manual_seed_all(seed)


@functools.cache
def _accelerators() -> tuple[bool, bool]:
    """Whether CUDA and MPS are available, asked once: the per-step functions below would
    otherwise spend more on asking (~20 µs after a training step has evicted the caches)
    than on the generators."""
    import torch

    return torch.cuda.is_available(), torch.backends.mps.is_available()


def capture_raw() -> tuple[Any, Any]:
    """What :func:`capture` saves, as torch's own tensors: to restore in this process, at every step.

    :func:`capture` converts the states to NumPy for a :class:`State` that can be saved;
    around a training step that conversion costs more than the step's keying itself.
    """
    import torch

    cuda_started = _accelerators()[0] and torch.cuda.is_initialized()  # type: ignore[no-untyped-call]  # unannotated in torch
    return torch.default_generator.get_state(), torch.cuda.get_rng_state_all() if cuda_started else None


def restore_raw(raw: tuple[Any, Any]) -> None:
    """Restore what :func:`capture_raw` returned."""
    import torch

    cpu, cuda = raw
    torch.default_generator.set_state(cpu)  # global-rng-ok: this function's job
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def capture() -> State:
    import torch

    arrays = {"cpu": torch.get_rng_state().numpy().copy()}
    meta: dict[str, Any] = {"cuda_devices": 0}
    cuda_started = torch.cuda.is_available() and torch.cuda.is_initialized()  # type: ignore[no-untyped-call]  # unannotated in torch
    if cuda_started:
        states = torch.cuda.get_rng_state_all()
        meta["cuda_devices"] = len(states)
        for i, s in enumerate(states):
            arrays[f"cuda{i}"] = s.cpu().numpy().copy()
    return State(NAME, arrays=arrays, meta=meta)


def restore(state: State) -> None:
    import torch

    torch.set_rng_state(torch.from_numpy(np.ascontiguousarray(state.arrays["cpu"], dtype=np.uint8)))  # global-rng-ok
    n = int(state.meta.get("cuda_devices", 0))
    if n:
        if not torch.cuda.is_available() or torch.cuda.device_count() < n:
            raise StateFileError(
                f"this RNG state holds {n} CUDA generator states but this process sees "
                f"{torch.cuda.device_count() if torch.cuda.is_available() else 0} CUDA devices"
            )
        torch.cuda.set_rng_state_all(
            [torch.from_numpy(np.ascontiguousarray(state.arrays[f"cuda{i}"], dtype=np.uint8)) for i in range(n)]
        )


def deterministic(enable: bool) -> list[Setting]:
    import torch

    settings: list[Setting] = []
    torch.use_deterministic_algorithms(enable)
    settings.append(Setting(NAME, "torch.use_deterministic_algorithms", str(enable)))
    torch.backends.cudnn.deterministic = enable
    settings.append(Setting(NAME, "torch.backends.cudnn.deterministic", str(enable)))
    torch.backends.cudnn.benchmark = not enable if enable else torch.backends.cudnn.benchmark
    settings.append(Setting(NAME, "torch.backends.cudnn.benchmark", str(torch.backends.cudnn.benchmark)))
    if enable:
        current = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
        if current is None:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
            late = torch.cuda.is_available() and torch.cuda.is_initialized()  # type: ignore[no-untyped-call]  # unannotated in torch
            settings.append(
                Setting(
                    NAME,
                    "CUBLAS_WORKSPACE_CONFIG",
                    CUBLAS_WORKSPACE,
                    ok=not late,
                    note="CUDA was already initialised: set it in the environment before starting Python"
                    if late
                    else "set (cuBLAS reads it when CUDA initialises)",
                )
            )
        else:
            ok = current in (":4096:8", ":16:8")
            settings.append(
                Setting(NAME, "CUBLAS_WORKSPACE_CONFIG", current, ok=ok, note="" if ok else "use :4096:8 or :16:8")
            )
    return settings
