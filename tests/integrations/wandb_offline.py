"""Read W&B offline run directories with W&B's own record format (no network, no private API).

An offline run writes its transaction log ``run-<id>.wandb``: a LevelDB-style log (32 KiB
blocks of records with a 7-byte header: CRC32, length, type) after a 7-byte file header
(``:W&B``, magic 0xBEE1, version), each record a ``wandb.proto.wandb_internal_pb2.Record``
message. ``wandb sync`` uploads exactly these records.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BLOCK = 32768
_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def records(path: Path) -> list[Any]:
    """Every record of a ``.wandb`` file, as W&B's protobuf ``Record`` messages."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:_HEADER])
    assert (ident, magic) == (b":W&B", 0xBEE1), f"{path} is not a W&B transaction log"
    chunks, pending, pos = [], b"", _HEADER
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # the block's tail is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        if (kind == 0 and length == 0) or pos + _HEADER + length > len(data):
            break  # the end, or a record still being written
        body = data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind == _FULL:
            chunks.append(body)
        elif kind == _FIRST:
            pending = body
        elif kind == _MIDDLE:
            pending += body
        elif kind == _LAST:
            chunks.append(pending + body)
    out = []
    for chunk in chunks:
        record = pb.Record()
        record.ParseFromString(chunk)
        out.append(record)
    return out


@dataclass
class OfflineRun:
    """What one offline run directory holds, decoded."""

    directory: Path
    run_id: str = ""
    project: str = ""
    group: str = ""
    job_type: str = ""
    display_name: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None

    @property
    def export(self) -> dict[str, Any]:
        return json.loads((self.directory / "files" / "seedwise-export.json").read_text())


def read_run(directory: Path, timeout: float = 60.0) -> OfflineRun:
    """Decode the run record, config, history, summary and exit of an offline run directory.

    ``run.finish()`` returns before W&B's service process has flushed the whole log to disk
    (on a loaded machine, seconds later): wait until the log ends with the run's exit record.
    """
    (log,) = Path(directory).glob("run-*.wandb")
    deadline = time.monotonic() + timeout
    while True:
        found = records(log)
        if any(r.WhichOneof("record_type") == "exit" for r in found):
            break
        assert time.monotonic() < deadline, f"{log} has no exit record after {timeout} s"
        time.sleep(0.1)
    run = OfflineRun(Path(directory))
    for record in found:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.run_id, run.project, run.group, run.job_type = r.run_id, r.project, r.run_group, r.job_type
            run.display_name, run.tags = r.display_name, list(r.tags)
            for item in r.config.update:
                run.config[item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run.config[item.key] = json.loads(item.value_json)
        elif kind == "history":
            row = {}
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                row[key] = json.loads(item.value_json)
            run.history.append(row)
        elif kind == "summary":
            for item in record.summary.update:
                key = item.key or "/".join(item.nested_key)
                run.summary[key] = json.loads(item.value_json)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def offline_runs(wandb_dir: Path) -> list[OfflineRun]:
    """Every offline run directory under ``wandb_dir``, decoded, oldest first."""
    return [read_run(d) for d in sorted(Path(wandb_dir).glob("offline-run-*")) if d.is_dir()]
