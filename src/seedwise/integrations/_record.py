"""The record of one training run that a tracker logs: its seeds tree, seed_everything report and fingerprint.

Built once here in a tracker-neutral form; :mod:`seedwise.integrations.mlflow` logs it as
flat params and tags, :mod:`seedwise.integrations.wandb` as one nested ``seedwise``
config entry.

* The **seeds tree** (params: it is the run's input): ``seedwise.seeds``, the stream as
  ``Seeds.to_json()`` (``Seeds.from_json`` gives it back exactly, overrides included), and
  ``seedwise.seeds.<name>`` = ``int(seeds[name])`` for each named child stream (by default
  the well-known ones: ``init``, ``data_order``, ``augment``, ``dropout``, ``split``).
* The **seed_everything report** (tags): ``seedwise.seed_everything`` (the call),
  ``seedwise.seed_everything.ok``, and ``seedwise.seed_everything.<framework>.<setting>``
  for each setting: its value, followed by ``(NOT APPLIED: <why>)`` when it could not
  take effect.
* The **fingerprint** (tags): ``seedwise.fingerprint.<path>`` for every leaf of
  :func:`seedwise.fingerprint` (lists as JSON; unset values left out of the tags, kept in
  the document).

Integers are written as decimal strings: a 64-bit stream value does not survive a JSON
number (a float64) or a tracker's web page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seedwise.errors import InvalidTypeError
from seedwise.seeds import Seeds, as_seeds
from seedwise.streams import WELL_KNOWN

__all__ = ["RunRecord", "run_record", "seeds_document", "seeds_params", "flatten", "tracker_key"]

#: The prefix of every key seedwise writes to a tracker.
PREFIX = "seedwise"


@dataclass(frozen=True)
class RunRecord:
    """What a tracker logged for one run.

    Attributes:
        params: the seeds tree, flat (``seedwise.seeds``, ``seedwise.seeds.<name>``).
        tags: the seed_everything report and the fingerprint, flat.
        document: the same, nested and complete: ``{"seeds": ..., "seed_everything": ...,
            "fingerprint": ...}`` (the last two ``None`` when not logged).
    """

    params: dict[str, str]
    tags: dict[str, str]
    document: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"params": dict(self.params), "tags": dict(self.tags), "document": self.document}


def seeds_document(seeds: Seeds, streams: Sequence[str] = WELL_KNOWN) -> dict[str, Any]:
    """The seeds tree: ``{"root": seeds.to_json(), "streams": {name: str(int(seeds[name]))}}``."""
    if isinstance(streams, str) or not isinstance(streams, Sequence):
        raise InvalidTypeError(
            f"streams must be a sequence of stream names such as ('init', 'dropout'), got {type(streams).__name__} "
            f"{streams!r}"
        )
    for name in streams:
        if not isinstance(name, str):
            raise InvalidTypeError(f"streams must hold stream names (str), got {type(name).__name__} {name!r}")
    return {"root": seeds.to_json(), "streams": {name: str(int(seeds[name])) for name in streams}}


def seeds_params(document: Mapping[str, Any]) -> dict[str, str]:
    """The flat params of a :func:`seeds_document`."""
    params = {f"{PREFIX}.seeds": str(document["root"])}
    params.update({f"{PREFIX}.seeds.{name}": str(value) for name, value in document["streams"].items()})
    return params


def _report_document(report: object) -> dict[str, Any]:
    to_dict = getattr(report, "to_dict", None)
    if not callable(to_dict) or not hasattr(report, "settings"):
        raise InvalidTypeError(
            f"report must be what seedwise.seed_everything() returned (a SeedReport), got {type(report).__name__}"
        )
    document: dict[str, Any] = to_dict()
    return document


def _report_tags(document: Mapping[str, Any]) -> dict[str, str]:
    key = f"{PREFIX}.seed_everything"
    tags = {key: str(document["title"]), f"{key}.ok": str(bool(document["ok"]))}
    for setting in document["settings"]:
        value = str(setting["value"])
        if not setting["ok"]:
            value += f" (NOT APPLIED: {setting['note']})"
        name = f"{key}.{setting['framework']}.{setting['name']}"
        n = 2
        unique = name
        while unique in tags:  # a setting made twice (seeding, then determinism): keep both
            unique, n = f"{name} ({n})", n + 1
        tags[unique] = value
    return tags


def flatten(prefix: str, value: Any) -> dict[str, str]:
    """``{"prefix.a.b": "leaf"}`` for every leaf of nested mappings; lists as JSON, ``None`` left out."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), item))
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value, default=str)
    elif value is not None:
        out[prefix] = str(value)
    return out


_KEY_CHARS = re.compile(r"[^\w./ -]")


def tracker_key(key: str) -> str:
    """``key`` with the characters trackers refuse in a key (MLflow: ``[/\\w.\\- ]`` only) as ``_``."""
    return _KEY_CHARS.sub("_", key).strip("/") or "_"


def run_record(
    seeds: Seeds | int,
    report: object = None,
    *,
    fingerprint: bool | Mapping[str, Any] = True,
    streams: Sequence[str] = WELL_KNOWN,
) -> RunRecord:
    """The record of a training run (see the module docstring).

    Args:
        seeds: the run's root :class:`~seedwise.Seeds` (or an int seed).
        report: what :func:`seedwise.seed_everything` returned, or ``None``.
        fingerprint: ``True`` to record :func:`seedwise.fingerprint` now, ``False`` not
            to, or a fingerprint dict recorded earlier (a study worker's).
        streams: the child streams whose values are listed.
    """
    root = as_seeds(seeds)
    seeds_doc = seeds_document(root, streams)
    params = seeds_params(seeds_doc)
    tags: dict[str, str] = {}
    report_doc = None
    if report is not None:
        report_doc = _report_document(report)
        tags.update(_report_tags(report_doc))
    if isinstance(fingerprint, bool):
        if fingerprint:
            from seedwise.process.fingerprint import fingerprint as take_fingerprint

            fingerprint_doc: dict[str, Any] | None = take_fingerprint()
        else:
            fingerprint_doc = None
    elif isinstance(fingerprint, Mapping):
        fingerprint_doc = dict(fingerprint)
    else:
        raise InvalidTypeError(
            f"fingerprint must be True, False or a dict from seedwise.fingerprint(), got {type(fingerprint).__name__}"
        )
    if fingerprint_doc is not None:
        tags.update(flatten(f"{PREFIX}.fingerprint", fingerprint_doc))
    document = {"seeds": seeds_doc, "seed_everything": report_doc, "fingerprint": fingerprint_doc}
    return RunRecord(params, tags, document)
