"""``fingerprint()``: the environment a result was produced in.

Everything that can change the bits a training run produces: the versions of Python,
seedwise and each framework, the CPU and accelerators, the determinism switches, the
thread counts and the environment variables that change numerics. The study runner
stores one per run so that two results can be checked for comparability.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from seedwise._optional import distribution_version
from seedwise._version import __version__
from seedwise.process.adapters import ADAPTERS, adapter

__all__ = ["fingerprint", "NUMERIC_ENV_VARS"]

#: Environment variables that change the numbers a run produces or its determinism.
NUMERIC_ENV_VARS = (
    "PYTHONHASHSEED",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_LAUNCH_BLOCKING",
    "NVIDIA_TF32_OVERRIDE",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "MKL_CBWR",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TF_ENABLE_ONEDNN_OPTS",
    "XLA_FLAGS",
    "JAX_ENABLE_X64",
    "JAX_DEFAULT_MATMUL_PRECISION",
    "PYTENSOR_FLAGS",
)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cudnn_version(torch: Any) -> int | None:
    """cuDNN's version, None without cuDNN (torch leaves these two functions unannotated)."""
    return torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None


def _torch_info() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "num_threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
        "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda,
        "cudnn_version": _cudnn_version(torch),
        "devices": [],
    }
    if torch.cuda.is_available():
        info["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def fingerprint(*, import_frameworks: bool = True) -> dict[str, Any]:
    """The environment as a JSON-ready dict (see the module docstring for what it holds).

    Versions come from package metadata, without importing the frameworks. Torch's
    runtime details (devices, determinism flags, threads) need torch imported: with
    ``import_frameworks=False`` they are included only if torch already is, which keeps
    the call cheap in a process that never uses torch.
    """
    versions: dict[str, str | None] = {"seedwise": __version__}
    for name in ADAPTERS:
        module = adapter(name)
        versions[name] = module.version() if module.available() else None
    for extra in ("scipy", "opencv-python-headless", "ray"):
        versions[extra] = distribution_version(extra)
    out: dict[str, Any] = {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "node": platform.node(),
        },
        "cpu": {"name": _cpu_name(), "count": os.cpu_count()},
        "versions": versions,
        "env": {name: os.environ.get(name) for name in NUMERIC_ENV_VARS},
    }
    if adapter("torch").available() and (import_frameworks or "torch" in sys.modules):
        out["torch"] = _torch_info()
    return out
