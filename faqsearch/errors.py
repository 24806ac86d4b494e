"""One exception family, so the CLI and the HTTP layer can turn any user-facing problem into a
one-line message and an exit code without knowing where it came from."""

from __future__ import annotations

from pathlib import Path

# The fix for a file of the package itself missing or damaged (shipped data, the ONNX graph)
REINSTALL = "reinstall faqsearch (`pip install --force-reinstall faqsearch`, or `pip install -e .` in a clone)"


class FAQSearchError(Exception):
    """A problem the user can fix; the message says what is wrong and how to fix it."""

    exit_code = 2


class InputFileError(FAQSearchError):
    """An input file (FAQ, labelled questions or examples) is invalid; carries its file, line and field."""

    def __init__(self, path: str, message: str, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = path, line, field
        where = f"{path}:{line}" if line is not None else path
        prefix = f"{where}: {field}: " if field else f"{where}: "
        super().__init__(prefix + message)


class IndexUnusable(FAQSearchError):
    """An index is missing, corrupt, stale or from an incompatible version."""


class EncoderUnavailable(FAQSearchError):
    """An encoder cannot run here (package or model files missing)."""


class ShippedDataBroken(FAQSearchError):
    """A file the package ships (background corpus, shipped vectors) is missing or damaged: the
    install is broken."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"{path} is {why}; {REINSTALL}")


class DownloadError(FAQSearchError):
    """A model download failed (usually: no internet)."""

    exit_code = 1
