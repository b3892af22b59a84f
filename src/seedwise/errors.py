"""The exceptions seedwise raises.

Every error a user can cause is a subclass of both :class:`SeedwiseError` and the
built-in exception a Python user would expect (``ValueError`` or ``TypeError``), so
``except ValueError`` keeps working and ``except seedwise.SeedwiseError`` catches all
of ours. Messages say what was wrong, what was expected and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "SeedwiseError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MissingDependencyError",
    "StateFileError",
    "StoreError",
    "UsageError",
    "TrackerError",
    "NoiseNotSetError",
    "GStreamerError",
    "PipelineParseError",
    "MissingElementError",
    "PipelineError",
    "CapsError",
    "StreamTimeout",
]


class SeedwiseError(Exception):
    """Base class of every error seedwise raises on purpose."""


class InvalidArgumentError(SeedwiseError, ValueError):
    """An argument has the right type but a value seedwise cannot use."""


class InvalidTypeError(SeedwiseError, TypeError):
    """An argument has a type seedwise cannot use."""


class MissingDependencyError(SeedwiseError, ImportError):
    """An optional dependency is needed and not installed; the message names the extra."""

    def __init__(self, package: str, extra: str, feature: str):
        self.package, self.extra, self.feature = package, extra, feature
        super().__init__(
            f"{feature} needs the optional package {package!r}, which is not installed; "
            f"install it with: pip install 'seedwise[{extra}]'"
        )


class StateFileError(SeedwiseError, ValueError):
    """A saved RNG state file is missing, truncated, tampered with or from a newer format."""


class StoreError(SeedwiseError, ValueError):
    """A study store cannot be used (corrupt, newer schema, conflicting study)."""


class UsageError(SeedwiseError, ValueError):
    """Bad command-line usage: the ``seedwise`` command prints it as one line and exits with 2."""


class TrackerError(SeedwiseError, RuntimeError):
    """An experiment tracker (MLflow, W&B) refused a call, or holds runs that conflict with an export.

    The message names the tracker and the runs concerned, and says how to fix it.
    """


class NoiseNotSetError(SeedwiseError, RuntimeError):
    """A variational layer was asked for a random forward pass without a noise stream."""


# -- GStreamer ---------------------------------------------------------------------------
# Every constructor takes the message first and the rest as keywords with defaults, so
# torch's DataLoader can re-raise them from a worker process as the same class.


class GStreamerError(SeedwiseError, RuntimeError):
    """Base class of the errors a GStreamer pipeline causes."""


class PipelineParseError(GStreamerError, ValueError):
    """The launch string does not describe a pipeline (syntax, unknown property, unlinkable elements)."""


class MissingElementError(PipelineParseError):
    """The launch string names an element no installed plugin provides.

    Attributes: ``element`` (its name) and ``package`` (the package that usually provides it).
    """

    def __init__(self, message: str, *, element: str | None = None, package: str | None = None) -> None:
        super().__init__(message)
        self.element, self.package = element, package


class PipelineError(GStreamerError):
    """An ERROR message on the pipeline's bus.

    Attributes: ``element`` (the element that posted it), ``domain`` and ``code`` (the
    GLib error), ``debug`` (GStreamer's debug string) and ``frames`` (how many frames
    the iteration had delivered when it was seen).
    """

    def __init__(
        self,
        message: str,
        *,
        element: str | None = None,
        domain: str | None = None,
        code: int | None = None,
        debug: str | None = None,
        frames: int | None = None,
    ) -> None:
        super().__init__(message)
        self.element, self.domain, self.code, self.debug, self.frames = element, domain, code, debug, frames


class CapsError(PipelineError):
    """Caps negotiation failed: no format both the upstream elements and the appsink accept."""


class StreamTimeout(GStreamerError, TimeoutError):
    """No frame, end of stream or error arrived within ``timeout`` seconds."""
