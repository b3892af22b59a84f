"""``Seeds``: root entropy plus a path of names, from which every random stream derives.

A :class:`Seeds` only derives keys; it never produces random numbers itself. Its
conversions (:meth:`Seeds.numpy`, :meth:`Seeds.torch`, ...) hand out fresh generators
seeded from the stream, and :mod:`seedwise.stateless` draws from its :attr:`Seeds.key`.

Derivation (fixed forever: a user's seed must mean the same thing in every release):

* each path element is encoded as four 32-bit words, the first 16 bytes of
  ``blake2b(tag + payload, digest_size=16)`` read little-endian, where the tag is
  ``b"seedwise:name:"`` for a name (payload: its UTF-8 bytes), ``b"seedwise:index:"``
  for a spawned child (payload: the decimal index) and ``b"seedwise:use:"`` for the
  purpose of a conversion (``philox``, ``numpy``, ``torch``...);
* the stream's :class:`numpy.random.SeedSequence` is
  ``SeedSequence(entropy, spawn_key=words(path))``, where ``entropy`` is the root entropy,
  or the entropy given by the innermost :meth:`Seeds.override` on the path.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import numbers
import os
from collections.abc import Iterator, Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from seedwise import _conversions
from seedwise.errors import InvalidArgumentError, InvalidTypeError

if TYPE_CHECKING:  # pragma: no cover
    import random

    import torch

__all__ = ["Seeds", "SeedLike", "as_seeds", "MAX_ENTROPY"]

MAX_ENTROPY = 2**128
_JSON_FORMAT = 1

PathElement = str | int


def _check_entropy(value: object, name: str = "seed") -> int:
    if isinstance(value, Seeds):
        raise InvalidTypeError(f"{name} must be an int, got a Seeds; pass it directly where a Seeds is accepted")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        hint = ""
        if isinstance(value, float) and value.is_integer():
            hint = f"; use int({value!r})"
        elif isinstance(value, str) and value.strip().isdigit():
            hint = f"; use int({value!r})"
        raise InvalidTypeError(
            f"{name} must be a non-negative int below 2**128, got {type(value).__name__} {value!r}{hint}"
        )
    value = int(value)
    if value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative int below 2**128, got {value}")
    if value >= MAX_ENTROPY:
        raise InvalidArgumentError(f"{name} must be below 2**128, got an int of {value.bit_length()} bits")
    return value


def _check_element(element: object) -> PathElement:
    if isinstance(element, str):
        if not element:
            raise InvalidArgumentError("a stream name must be a non-empty string, got ''")
        return element
    if isinstance(element, bool) or not isinstance(element, numbers.Integral):
        raise InvalidTypeError(
            "a stream is selected by a name (str) or a child index (int >= 0), "
            f"got {type(element).__name__} {element!r}"
        )
    index = int(element)
    if index < 0:
        raise InvalidArgumentError(f"a child index must be >= 0, got {index}")
    if index >= 2**64:
        raise InvalidArgumentError(f"a child index must be below 2**64, got {index}")
    return index


@lru_cache(maxsize=1 << 16)
def _words(tag: bytes, payload: bytes) -> tuple[int, int, int, int]:
    digest = hashlib.blake2b(tag + payload, digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))  # type: ignore[return-value]  # 16 bytes: 4 words


@lru_cache(maxsize=1 << 14)
def _philox_key(entropy: int, spawn_words: tuple[int, ...]) -> np.ndarray:
    ss = np.random.SeedSequence(entropy, spawn_key=spawn_words + _use("philox"))
    key = ss.generate_state(2, np.uint64)
    key.setflags(write=False)
    return key


def _encode(element: PathElement) -> tuple[int, int, int, int]:
    if isinstance(element, str):
        return _words(b"seedwise:name:", element.encode("utf-8"))
    return _words(b"seedwise:index:", str(element).encode("ascii"))


def _use(purpose: str) -> tuple[int, int, int, int]:
    return _words(b"seedwise:use:", purpose.encode("ascii"))


class Seeds:
    """A named, seeded stream of randomness: root entropy plus a path of names.

    ``Seeds(42)`` is a root; ``seeds["init"]`` a child by name; ``seeds[3]`` or
    ``seeds.spawn(8)[3]`` a child by index. Children nest, are independent of each
    other, and never depend on which other children exist. Seeds are immutable and
    hashable, and compare equal when they derive the same streams.

    Args:
        entropy: an int in ``[0, 2**128)``. Floats, bools, strings and negative numbers
            are rejected: silently converting them would give two users the same stream
            for different seeds.
    """

    __slots__ = ("__dict__", "_entropy", "_overrides", "_path")

    def __init__(self, entropy: int):
        self._entropy = _check_entropy(entropy)
        self._path: tuple[PathElement, ...] = ()
        # Each override: (absolute path of the overridden child, entropy). Order kept.
        self._overrides: tuple[tuple[tuple[PathElement, ...], int], ...] = ()

    @classmethod
    def _make(
        cls,
        entropy: int,
        path: tuple[PathElement, ...],
        overrides: tuple[tuple[tuple[PathElement, ...], int], ...],
    ) -> Seeds:
        obj = cls.__new__(cls)
        obj._entropy, obj._path, obj._overrides = entropy, path, overrides
        return obj

    # -- structure ------------------------------------------------------------------

    @property
    def entropy(self) -> int:
        """The root entropy this tree was created with."""
        return self._entropy

    @property
    def path(self) -> tuple[PathElement, ...]:
        """The names and indices from the root to this stream."""
        return self._path

    def __getitem__(self, name: PathElement) -> Seeds:
        """The child stream ``name`` (a str), or the ``name``-th spawned child (an int)."""
        element = _check_element(name)
        return Seeds._make(self._entropy, self._path + (element,), self._overrides)

    def child(self, *names: PathElement) -> Seeds:
        """The descendant at ``names``: ``seeds.child("a", "b") == seeds["a"]["b"]``."""
        out = self
        for name in names:
            out = out[name]
        return out

    def spawn(self, n: int, *, start: int = 0) -> list[Seeds]:
        """``n`` independent children ``self[start], ..., self[start + n - 1]``.

        Child ``i`` is the same whatever ``n`` is, so ensemble member 3 of 4 is member
        3 of 16 too.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise InvalidArgumentError(f"n must be a non-negative int, got {n!r}")
        if isinstance(start, bool) or not isinstance(start, numbers.Integral) or start < 0:
            raise InvalidArgumentError(f"start must be a non-negative int, got {start!r}")
        return [self[int(start) + i] for i in range(int(n))]

    def override(self, mapping: Mapping[Any, int] | None = None, /, **entropies: int) -> Seeds:
        """The same tree, except that each named child takes the given entropy.

        ``Seeds(42).override(init=7)["init"]`` derives exactly like ``Seeds(7)["init"]``
        (and so do all its descendants), while every other stream, such as
        ``["data_order"]``, stays that of ``Seeds(42)``. Keys of ``mapping`` may be a
        name, an index or a tuple path (``{("init", "encoder"): 3}``).
        """
        items: list[tuple[Any, int]] = []
        if mapping is not None:
            if not isinstance(mapping, Mapping):
                raise InvalidTypeError(f"override() takes a mapping or keyword arguments, got {type(mapping).__name__}")
            items.extend(mapping.items())
        items.extend(entropies.items())
        if not items:
            raise InvalidArgumentError("override() needs at least one stream, e.g. seeds.override(init=7)")
        overrides = self._overrides
        for key, value in items:
            rel = key if isinstance(key, tuple) else (key,)
            if not rel:
                raise InvalidArgumentError("an override path must name at least one stream")
            rel = tuple(_check_element(e) for e in rel)
            entropy = _check_entropy(value, name=f"override entropy for {rel if len(rel) > 1 else rel[0]!r}")
            target = self._path + rel
            overrides = tuple((p, e) for p, e in overrides if p != target) + ((target, entropy),)
        return Seeds._make(self._entropy, self._path, overrides)

    # -- derivation -----------------------------------------------------------------

    def _effective(self) -> tuple[int, tuple[PathElement, ...]]:
        """(entropy, path) after applying the innermost override on this stream's path."""
        entropy, path = self._entropy, self._path
        best = -1
        for opath, oentropy in self._overrides:
            n = len(opath)
            if n > best and self._path[:n] == opath:
                best, entropy = n, oentropy
        return entropy, path

    @cached_property
    def _spawn_words(self) -> tuple[int, ...]:
        words: list[int] = []
        for element in self._path:
            words.extend(_encode(element))
        return tuple(words)

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """This stream's :class:`numpy.random.SeedSequence` (its spawn key encodes the path)."""
        return np.random.SeedSequence(self._effective()[0], spawn_key=self._spawn_words)

    def _purpose(self, purpose: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(self._effective()[0], spawn_key=self._spawn_words + _use(purpose))

    @cached_property
    def key(self) -> np.ndarray:
        """The 128-bit Philox-4x64 key of this stream, as two uint64 words (read-only).

        ``numpy.random.Philox(key=seeds.key)`` is the same generator that
        :mod:`seedwise.stateless` evaluates at explicit counters.
        """
        return _philox_key(self._effective()[0], self._spawn_words)

    def __int__(self) -> int:
        """An unsigned 64-bit int in ``[0, 2**64)`` derived from this stream.

        Many framework arguments take less (Keras wants below ``2**32``, JAX and
        TensorFlow's int64 seeds below ``2**63``): pass ``seeds.int(bits=32)`` or
        ``seeds.int(bits=63)`` there (see :meth:`int`).
        """
        return int(self._purpose("int").generate_state(1, np.uint64)[0])

    def __index__(self) -> int:
        return int(self)

    # -- conversions ----------------------------------------------------------------

    def numpy(self) -> np.random.Generator:
        """A fresh :class:`numpy.random.Generator` (PCG64) seeded from this stream."""
        return np.random.Generator(np.random.PCG64(self._purpose("numpy")))

    def torch(self, device: str | Any = "cpu") -> torch.Generator:
        """A fresh ``torch.Generator`` on ``device`` seeded from this stream."""
        import torch

        seed = int(self._purpose("torch").generate_state(1, np.uint64)[0])
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return generator

    def python(self) -> random.Random:
        """A fresh :class:`random.Random` seeded with 128 bits from this stream."""
        import random

        words = self._purpose("python").generate_state(2, np.uint64)
        return random.Random(int(words[0]) | (int(words[1]) << 64))

    def jax(self, impl: str | None = None) -> Any:
        """A typed JAX PRNG key derived from this stream (needs the ``jax`` extra)."""
        return _conversions.jax_key(self, impl=impl)

    def tensorflow(self) -> Any:
        """A fresh ``tf.random.Generator`` (Philox) seeded from this stream (needs ``tensorflow``)."""
        return _conversions.tensorflow_generator(self)

    def pytensor(self) -> Any:
        """A seeded ``pytensor.tensor.random.utils.RandomStream`` (needs ``pytensor``)."""
        return _conversions.pytensor_random_stream(self)

    # -- identity -------------------------------------------------------------------

    def _identity(self) -> tuple[object, ...]:
        # Overrides that cannot affect this stream or its descendants do not matter...
        # but keep them: two trees with different overrides are different trees.
        return (self._entropy, self._path, tuple(sorted(self._overrides, key=repr)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Seeds):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(("Seeds",) + self._identity())

    def __repr__(self) -> str:
        # Each override is shown at the deepest point of this stream's path where it
        # could have been made: Seeds(42)['a'].override(b=3)['b'], not a tuple at the root.
        at_depth: dict[int, list[tuple[tuple[PathElement, ...], int]]] = {}
        for opath, entropy in self._overrides:
            common = 0
            while common < min(len(opath) - 1, len(self._path)) and opath[common] == self._path[common]:
                common += 1
            at_depth.setdefault(common, []).append((opath[common:], entropy))
        out = f"Seeds({self._entropy})"
        for depth in range(len(self._path) + 1):
            items = at_depth.get(depth, [])
            if items:
                simple = all(len(k) == 1 and isinstance(k[0], str) and k[0].isidentifier() for k, _ in items)
                if simple:
                    out += ".override(" + ", ".join(f"{k[0]}={e}" for k, e in items) + ")"
                else:
                    body = ", ".join(f"{(k if len(k) > 1 else k[0])!r}: {e}" for k, e in items)
                    out += ".override({" + body + "})"
            if depth < len(self._path):
                out += f"[{self._path[depth]!r}]"
        return out

    def __iter__(self) -> Iterator[Seeds]:
        raise InvalidTypeError("Seeds is not iterable; use seeds.spawn(n) for n children")

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (Seeds.from_json, (self.to_json(),))

    # -- serialisation --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (entropies as decimal strings: JSON numbers lose bits above 2**53)."""

        def enc(path: tuple[PathElement, ...]) -> list[list[str]]:
            return [["name", e] if isinstance(e, str) else ["index", str(e)] for e in path]

        return {
            "seedwise_seeds": _JSON_FORMAT,
            "entropy": str(self._entropy),
            "path": enc(self._path),
            "overrides": [{"path": enc(p), "entropy": str(e)} for p, e in self._overrides],
        }

    def to_json(self) -> str:
        """This stream as a JSON string; :meth:`from_json` gives back an equal ``Seeds``."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Seeds:
        """Inverse of :meth:`to_dict`."""
        try:
            version = data["seedwise_seeds"]
            if not isinstance(version, int) or version > _JSON_FORMAT:
                raise InvalidArgumentError(
                    f"these Seeds were written by a newer seedwise (format {version}, this one reads "
                    f"<= {_JSON_FORMAT}); upgrade seedwise"
                )

            def dec(items: list[list[str]]) -> tuple[PathElement, ...]:
                out: list[PathElement] = []
                for kind, value in items:
                    if kind == "name":
                        out.append(_check_element(value))
                    elif kind == "index":
                        out.append(_check_element(int(value)))
                    else:
                        raise InvalidArgumentError(f"unknown path element kind {kind!r}")
                return tuple(out)

            entropy = _check_entropy(int(data["entropy"]), "entropy")
            path = dec(data["path"])
            overrides = tuple(
                (dec(o["path"]), _check_entropy(int(o["entropy"]), "override entropy")) for o in data["overrides"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, (InvalidArgumentError, InvalidTypeError)):
                raise
            raise InvalidArgumentError(
                f"not a Seeds JSON document ({exc!r}); expected the output of Seeds.to_json()"
            ) from None
        return cls._make(entropy, path, overrides)

    @classmethod
    def from_json(cls, text: str) -> Seeds:
        """Inverse of :meth:`to_json`."""
        if not isinstance(text, (str, bytes)):
            raise InvalidTypeError(f"from_json takes a JSON string, got {type(text).__name__}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"not a Seeds JSON document: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArgumentError("not a Seeds JSON document: expected a JSON object")
        return cls.from_dict(data)

    @classmethod
    def from_env(cls, default: SeedLike | None = None) -> Seeds:
        """The seeds a seedwise study gave this run, read from ``SEEDWISE_SEEDS`` (the run's Seeds as JSON).

        Outside a study (the variable unset) returns ``as_seeds(default)``, or raises
        :class:`~seedwise.errors.InvalidArgumentError` when no default is given.
        """
        text = os.environ.get("SEEDWISE_SEEDS")
        if not text:
            if default is None:
                raise InvalidArgumentError(
                    "SEEDWISE_SEEDS is not set: Seeds.from_env() reads the seeds a seedwise study gives each run of "
                    "a command; outside a study give a default, e.g. Seeds.from_env(default=0)"
                )
            return as_seeds(default, "default")
        try:
            return cls.from_json(text)
        except (InvalidArgumentError, InvalidTypeError) as exc:
            raise InvalidArgumentError(f"SEEDWISE_SEEDS does not hold a Seeds: {exc}") from None

    # -- sized integers (last in the class: below this point, ``int`` names the method) ----

    def int(self, bits: builtins.int = 64) -> builtins.int:
        """This stream's integer seed in ``[0, 2**bits)``, for a framework argument that takes an int.

        ``int(seeds) >> (64 - bits)``: the top ``bits`` bits of :meth:`__int__`, so
        ``seeds.int(bits=64) == int(seeds)`` and every size is the same seed, cut to fit.
        Which size an argument needs:

        * ``bits=32``: ``keras.utils.set_random_seed``, ``keras.layers.Dropout(seed=)``,
          Keras initialisers, ``tf.random.set_seed`` where ints are 32-bit, NumPy's legacy
          ``np.random.seed``, scikit-learn's ``random_state``;
        * ``bits=63``: anything stored as a signed 64-bit int: ``jax.random.key``,
          ``flax.nnx.Rngs``, ``tf.random.set_seed``, ``torch.manual_seed``.

        Args:
            bits: how many bits the value may have, from 1 to 64.
        """
        if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 1 <= bits <= 64:
            raise InvalidArgumentError(
                f"bits must be an int from 1 to 64 (the widest seed the argument takes: 32 for Keras, "
                f"63 for JAX and int64 seeds), got {bits!r}"
            )
        return int(self) >> (64 - int(bits))


SeedLike = int | Seeds


def as_seeds(seeds: SeedLike, name: str = "seeds") -> Seeds:
    """Coerce an int or a :class:`Seeds` into a :class:`Seeds` (the one coercion point)."""
    if isinstance(seeds, Seeds):
        return seeds
    if seeds is None:
        raise InvalidTypeError(f"{name} is required: pass a seedwise.Seeds (e.g. Seeds(0)) or an int seed")
    try:
        return Seeds(seeds)
    except (InvalidTypeError, InvalidArgumentError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
