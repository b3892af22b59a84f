"""Training functions for the study tests (importable by worker processes)."""

from __future__ import annotations

import os

import numpy as np

from seedwise import Seeds

#: True standard deviations of the synthetic metric's sources.
SIGMA = {"init": 2.0, "data_order": 0.5, "augment": 0.0}


def synthetic(seeds: Seeds, config: dict) -> dict[str, float]:
    """metric = offset + sum_s sigma_s * z_s, z_s ~ N(0, 1) drawn from seeds[s]: known components."""
    value = float(config.get("offset", 1.0))
    for source, sigma in SIGMA.items():
        value += sigma * float(seeds[source].numpy().standard_normal())
    return {"score": value, "double": 2 * value}


def counted(seeds: Seeds, config: dict) -> dict[str, float]:
    """``synthetic``, appending one line per call to the file config['log'] (a side channel), then sleeping.

    The sleep comes from the environment (``STUDY_TEST_SLEEP``), not the config, so that a
    study resumed without sleeping is the same study.
    """
    import time

    out = synthetic(seeds, config)
    with open(config["log"], "a") as f:
        f.write(f"{os.getpid()} {seeds.to_json()}\n")
        f.flush()
    time.sleep(float(os.environ.get("STUDY_TEST_SLEEP", "0")))
    return out


def flaky(seeds: Seeds, config: dict) -> dict[str, float]:
    """Fails for the runs whose init seed's first draw is negative."""
    if seeds["init"].numpy().standard_normal() < 0:
        raise RuntimeError("diverged: loss is NaN")
    return synthetic(seeds, config)


def with_curves(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """Reports a decreasing loss per epoch with seed noise."""
    rng = seeds["data_order"].numpy()
    loss = 2.0
    for epoch in range(int(config.get("epochs", 4))):
        loss = loss * 0.7 + 0.05 * float(rng.standard_normal())
        report(epoch, loss=loss)
    return {"loss": loss}


def bad_return(seeds: Seeds, config: dict):
    return [1.0]


_DIGITS: dict = {}


def digits_npz(path) -> str:
    """Save scikit-learn's digits (inputs scaled to [0, 1]) and a fixed split to ``path``; return it.

    Workers then load arrays instead of importing scikit-learn (seconds per process).
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    split = Seeds(0)["split"].numpy().permutation(len(data.target))  # fixed, not a studied source
    np.savez(path, x=(data.data / 16.0).astype(np.float32), y=data.target, train=split[:1200], test=split[1200:])
    return str(path)


def _digits(path: str):
    if path not in _DIGITS:
        import torch

        with np.load(path, allow_pickle=False) as f:
            _DIGITS[path] = tuple(torch.from_numpy(f[k]) for k in ("x", "y", "train", "test"))
    return _DIGITS[path]


def digits_mlp(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """A small MLP on scikit-learn digits: init, data order, augmentation noise and dropout seeded by name."""
    import torch

    x, y, train_idx, test_idx = _digits(config["data"])
    hidden = int(config.get("hidden", 32))
    g_init = seeds["init"].torch()
    w1 = torch.randn(64, hidden, generator=g_init) * (2 / 64) ** 0.5
    w2 = torch.randn(hidden, 10, generator=g_init) * (1 / hidden) ** 0.5
    params = [
        w1.requires_grad_(),
        torch.zeros(hidden, requires_grad=True),
        w2.requires_grad_(),
        torch.zeros(10, requires_grad=True),
    ]
    opt = torch.optim.SGD(params, lr=float(config.get("lr", 0.1)), momentum=0.9)
    g_order, g_aug, g_drop = seeds["data_order"].torch(), seeds["augment"].torch(), seeds["dropout"].torch()
    p_drop = 0.2
    for epoch in range(int(config.get("epochs", 3))):
        order = train_idx[torch.randperm(len(train_idx), generator=g_order)]
        total = 0.0
        for batch in order.split(64):
            xb = x[batch] + 0.05 * torch.randn(len(batch), 64, generator=g_aug)
            h = torch.relu(xb @ params[0] + params[1])
            mask = torch.bernoulli(torch.full_like(h, 1 - p_drop), generator=g_drop) / (1 - p_drop)
            loss = torch.nn.functional.cross_entropy((h * mask) @ params[2] + params[3], y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        report(epoch, loss=total / len(train_idx))
    with torch.no_grad():
        logits = torch.relu(x[test_idx] @ params[0] + params[1]) @ params[2] + params[3]
        accuracy = float((logits.argmax(1) == y[test_idx]).float().mean())
        nll = float(torch.nn.functional.cross_entropy(logits, y[test_idx]))
    return {"accuracy": accuracy, "nll": nll}


def crashing(seeds: Seeds, config: dict) -> dict[str, float]:
    """Kills its worker process (no exception, no traceback) for one init seed in three."""
    if int(seeds["init"]) % 3 == 0:
        os._exit(3)
    return synthetic(seeds, config)


def synthetic_with_curve(seeds: Seeds, config: dict, report) -> dict[str, float]:
    """What scripts/from_env.py computes, as a training function: ``synthetic`` plus a loss curve."""
    out = synthetic(seeds, config)
    for step in range(3):
        report(step, loss=out["score"] / (step + 1))
    return out


def seed_only(seeds: Seeds, config: dict) -> dict[str, float]:
    """What scripts/seed_only.py computes from ``--seed {seed}``, as a training function."""
    from seedwise.study import command_seed

    rng = np.random.default_rng(command_seed(seeds))
    w = rng.standard_normal(4)
    for _ in range(int(config.get("epochs", 3))):
        w = 0.9 * w + 0.1 * rng.standard_normal(4)
    return {"norm": float(np.linalg.norm(w)), "first": float(w[0])}


def tf_reductions(seeds: Seeds, config: dict) -> dict[str, float]:
    """Sums of 4M float32 values in TensorFlow: their bits depend on how many intra-op threads TensorFlow uses."""
    import tensorflow as tf

    v = tf.constant(seeds["init"].numpy().standard_normal(4_000_000).astype(np.float32))
    return {"sum": float(tf.reduce_sum(v)), "sum_sq": float(tf.reduce_sum(v * v))}


def keras_layer_index(seeds: Seeds, config: dict) -> dict[str, float]:
    """The index Keras puts in an automatic layer name ("dense" 0, "dense_3" 3), and this worker's memory."""
    import keras
    import psutil

    layer = keras.layers.Dense(4)
    model = keras.Sequential([keras.Input((8,)), layer, keras.layers.Dense(2)])
    x = seeds["data_order"].numpy().standard_normal((64, 8)).astype(np.float32)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :2], epochs=1, batch_size=32, verbose=0)
    suffix = layer.name.rpartition("_")[2]
    return {"index": float(suffix) if suffix.isdigit() else 0.0, "rss_mb": psutil.Process().memory_info().rss / 2**20}


_KEPT: list = []


def leaky(seeds: Seeds, config: dict) -> dict[str, float]:
    """Keeps 40 MB per run in a module-level list, as a framework that caches per run would; reports its memory."""
    import psutil

    _KEPT.append(np.ones(5_000_000))  # 40 MB, written (resident)
    return {"rss_mb": psutil.Process().memory_info().rss / 2**20, "pid": float(os.getpid())}


_CLEANUPS: list[int] = []


def count_cleanup() -> None:
    """A cleanup hook: counts its calls in this process."""
    _CLEANUPS.append(1)


def cleanups_so_far(seeds: Seeds, config: dict) -> dict[str, float]:
    """How many times ``count_cleanup`` ran in this worker before this run."""
    return {"cleanups": float(len(_CLEANUPS))}


def failing_cleanup() -> None:
    raise RuntimeError("cleanup broke")
