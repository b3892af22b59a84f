"""The torch path's compiled loops on the CPU (seedwise.augment._torch_kernels) give the
bits of its torch-op forms, so a batch's pixels do not depend on the number of torch threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seedwise import Seeds
from seedwise import augment as A
from seedwise.augment import torch_backend

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal to the bit (so 0.0 and -0.0 differ)."""
    view = torch.int32 if a.dtype == torch.float32 else torch.int64
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.view(view), b.view(view))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("channels", [3, 1])
def test_the_compiled_colour_map_gives_the_bits_of_the_torch_ops(monkeypatch, dtype, channels):
    assert torch_backend._compiled("colour_map") is not None  # numba is a dependency: the loop must load
    gen = torch.Generator().manual_seed(channels)
    x = torch.rand(7, channels, 37, 53, generator=gen, dtype=dtype)
    x[0, :, :4] = 0.0  # zero times a negative gain, plus a -0.0 offset: a -0.0 sum, unless the offset is made +0.0
    maps = (torch.rand(7, channels, channels + 1, generator=gen, dtype=dtype) - 0.3) * 2.5  # clips at both ends
    maps[0, :, channels] = -0.0
    maps[0, :, :channels] = -0.5
    for scale in (1.0, 255.0):
        xs = x * scale
        assert torch_backend._kernel("colour_map", xs, maps, xs) is not None
        out = torch_backend._colour_map(xs, maps, scale, torch.empty_like(xs))
        inplace = xs.clone()
        assert torch_backend._colour_map(inplace, maps, scale, inplace) is inplace
        with monkeypatch.context() as m:
            m.setattr(torch_backend, "_kernel", lambda *args: None)
            ref = torch_backend._colour_map(xs, maps, scale, torch.empty_like(xs))
        assert _bits(out, ref) and _bits(inplace, ref)
        assert (ref == 0).any() and (ref == scale).any()
        assert not torch.signbit(ref).any()  # no -0.0


def test_the_compiled_loops_serve_only_cpu_float_tensors_outside_autograd_on_one_thread():
    x, a = torch.rand(2, 3, 4, 5), torch.rand(2, 3, 4)
    assert torch_backend._kernel("colour_map", x, a, x) is not None
    assert torch_backend._kernel("colour_map", x.half(), a.half(), x.half()) is None
    assert torch_backend._kernel("colour_map", x, a.double(), x) is None
    assert torch_backend._kernel("colour_map", x.requires_grad_(), a, x) is None
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert torch_backend._kernel("colour_map", torch.rand(1), torch.rand(1)) is None
    finally:
        torch.set_num_threads(before)


def _pipe() -> A.Compose:
    return A.Compose(
        [
            A.HorizontalFlip(0.5),
            A.Affine(20, 0.1, (0.8, 1.2), 5, p=0.8),
            A.ColorJitter(0.3, 0.3, 0.3, 0.1, p=0.8),
            A.RandomResizedCrop((29, 31)),
            A.ColorJitter(brightness=0.2),
        ],
        seeds=Seeds(3)["augment"],
    )


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_pixels_do_not_depend_on_whether_the_compiled_loops_run(monkeypatch, dtype):
    gen = torch.Generator().manual_seed(5)
    x = torch.randint(0, 256, (9, 3, 37, 53), generator=gen, dtype=torch.uint8)  # odd sizes: unaligned samples
    if dtype != torch.uint8:
        x = x.to(dtype) / 255.0
    pipe, indices = _pipe(), np.arange(100, 109)
    compiled = pipe(x, indices=indices, epoch=2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the torch ops, as a process with several threads runs them
    try:
        threads = pipe(x, indices=indices, epoch=2)
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(torch_backend, "_kernel", lambda *args: None)
    ops = pipe(x, indices=indices, epoch=2)
    assert _bits(compiled, ops) if dtype != torch.uint8 else torch.equal(compiled, ops)
    assert torch.equal(threads, ops)
    for s in range(0, 9, 4):  # and a sample's pixels do not depend on its batch
        assert torch.equal(pipe(x[s : s + 4], indices=indices[s : s + 4], epoch=2), ops[s : s + 4])


@pytest.mark.parametrize("channels", [3, 1])
def test_large_images_give_the_same_bits_with_one_thread_and_four(channels):
    """Images large enough that torch splits its reductions and elementwise ops over threads
    (its grain is 32768 elements; a lone sum, as one channel's, is split over them): the
    contrast means, the grid and the colour map."""
    x = torch.rand(2, channels, 300, 300, generator=torch.Generator().manual_seed(7))
    pipe, indices = _pipe(), np.array([3, 11])
    alone = A.Compose([A.ColorJitter(contrast=0.5)], seeds=Seeds(3)["augment"])  # the means straight on the input
    before = torch.get_num_threads()
    outs = []
    for threads in (1, 4):
        torch.set_num_threads(threads)
        try:
            outs.append((pipe(x, indices=indices, epoch=1), alone(x, indices=indices)))
        finally:
            torch.set_num_threads(before)
    assert _bits(outs[0][0], outs[1][0]) and _bits(outs[0][1], outs[1][1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("channels", [3, 1])
def test_pixels_do_not_depend_on_the_images_memory_layout(dtype, channels):
    """HWC arrays permuted to CHW (what a Dataset's __getitem__ usually gives), channels_last,
    transposed and sliced views: the same bits as the contiguous batch the collate makes."""
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (4, 37, 53, channels), dtype=np.uint8)
    pipe = A.Compose([A.ColorJitter(0.3, 0.5, 0.3, 0.1)], seeds=Seeds(3)["augment"])
    images = [(torch.from_numpy(a).permute(2, 0, 1).to(dtype) / 255.0).to(dtype) for a in hwc]
    batch = torch.stack(images).contiguous()
    ref = pipe(batch, indices=np.arange(4))
    assert torch.equal(torch.stack([pipe(im, indices=i) for i, im in enumerate(images)]), ref)
    assert torch.equal(pipe(batch.contiguous(memory_format=torch.channels_last), indices=np.arange(4)), ref)
    transposed = batch.transpose(2, 3).contiguous().transpose(2, 3)  # the same values, strides swapped
    assert torch.equal(pipe(transposed, indices=np.arange(4)), ref)
    wide = torch.zeros(4, channels, 37, 60, dtype=dtype)
    wide[..., 2:55] = batch
    assert torch.equal(pipe(wide[..., 2:55], indices=np.arange(4)), ref)
