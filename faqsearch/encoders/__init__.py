"""Encoder registry: names -> classes, availability, and the `auto` choice."""

from __future__ import annotations

from .. import models
from ..errors import EncoderUnavailable
from .base import Encoder, split
from .e5 import E5Encoder
from .e5_aligned import E5AlignedEncoder
from .fused import E5UseEncoder
from .laser import LaserEncoder
from .use import USEEncoder

ENCODERS: dict[str, type[Encoder]] = {
    cls.name: cls for cls in (LaserEncoder, E5Encoder, USEEncoder, E5UseEncoder, E5AlignedEncoder)
}
AUTO = "auto"
DEFAULT = E5AlignedEncoder.name  # without LASER: measured better than e5 (BENCHMARKS.md, issue #14)

_instances: dict[tuple[str, str], Encoder] = {}


def resolve(name: str) -> str:
    """Turn `auto` into a concrete name (LASER when its model files are here, else e5-aligned,
    which needs nothing beyond the package), and check that the name exists and can run here."""
    if name == AUTO:
        return LaserEncoder.name if LaserEncoder.unavailable_reason() is None else DEFAULT
    if name not in ENCODERS:
        raise EncoderUnavailable(f"unknown encoder `{name}`; choose one of: {AUTO}, {', '.join(ENCODERS)}")
    reason = ENCODERS[name].unavailable_reason()
    if reason:
        raise EncoderUnavailable(f"encoder `{name}` is not available: {reason}")
    return name


def get_encoder(name: str) -> Encoder:
    """A process-wide instance per encoder: models are loaded once, however many indexes use them."""
    name = resolve(name)
    key = (name, str(models.models_dir()))  # a different models folder is a different model
    if key not in _instances:
        _instances[key] = ENCODERS[name]()
    return _instances[key]


__all__ = ["AUTO", "DEFAULT", "ENCODERS", "Encoder", "get_encoder", "resolve", "split"]
