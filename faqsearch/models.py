"""Where model files live and how they are downloaded (only LASER needs a download)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DownloadError, EncoderUnavailable

MODELS_DIR_ENV = "FAQSEARCH_MODELS_DIR"
LASER_BASE_URL = "https://dl.fbaipublicfiles.com/laser/models/"
LASER_CODES, LASER_VOCAB, LASER_CHECKPOINT = (
    "93langs.fcodes",
    "93langs.fvocab",
    "bilstm.93langs.2018-12-26.pt",
)
LASER_FILES = (LASER_CODES, LASER_VOCAB, LASER_CHECKPOINT)


def models_dir() -> Path:
    """$FAQSEARCH_MODELS_DIR, else $XDG_CACHE_HOME/faqsearch/models, else ~/.cache/faqsearch/models."""
    if os.environ.get(MODELS_DIR_ENV):
        return Path(os.environ[MODELS_DIR_ENV]).expanduser()
    return _cache_root() / "models"


def vectors_cache_dir() -> Path:
    """Where vectors computed once per encoder version (the off-topic sample, sentiment examples) are kept."""
    return _cache_root() / "vectors"


def langid_cache_dir() -> Path:
    """Where the language identifier's model is kept unpacked (langid.py)."""
    return _cache_root() / "langid"


def _cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "faqsearch"


@contextmanager
def writing(folder: Path, partial: Path, what: str) -> Iterator[None]:
    """A block that writes `what` into `folder` through the temporary file `partial`, renamed into
    place when complete: an OSError (a folder that is not writable or not a folder, a full disk)
    becomes one line naming the folder and the fix, and `partial` never outlives the block."""
    try:
        yield
    except OSError as exc:
        raise EncoderUnavailable(
            f"cannot write {what} into {folder} ({exc.strerror or exc}); free space there or make it writable, "
            f"or set ${MODELS_DIR_ENV} to a folder that is"
        ) from None
    finally:
        with contextlib.suppress(OSError):  # never written, or its folder is not one
            partial.unlink(missing_ok=True)


def laser_dir() -> Path:
    return models_dir() / "laser"


def missing_laser_files() -> list[str]:
    return [name for name in LASER_FILES if not (laser_dir() / name).is_file()]


def download_laser(timeout: float = 30.0) -> Path:
    """Download the three LASER files into laser_dir() with a progress bar; skip those present.

    Each file is written to `<name>.part` and renamed when complete, so an interrupted
    download never leaves a truncated model behind.
    """
    import http.client  # here, not at the top: 17 ms of every cold `faqsearch ask` (issue #38)
    import ssl
    import urllib.error
    import urllib.request

    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    # What a failed download raises (each is also an OSError but for HTTPException); any other
    # OSError while a model file is written is the models folder's (unwritable, full).
    network_errors = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, ssl.SSLError)
    target = laser_dir()
    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn()) as progress:
        for name in missing_laser_files():
            url = LASER_BASE_URL + name
            part = target / (name + ".part")
            with writing(target, part, f"LASER's {name}"):
                target.mkdir(parents=True, exist_ok=True)
                try:
                    with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
                        total = int(response.headers.get("Content-Length") or 0) or None
                        task = progress.add_task(name, total=total)
                        while chunk := response.read(1 << 20):
                            out.write(chunk)
                            progress.advance(task, len(chunk))
                except network_errors as exc:
                    reason = getattr(exc, "reason", exc)
                    raise DownloadError(
                        f"could not download {url}: {reason}. This needs internet access; on a machine "
                        f"without it, copy {', '.join(LASER_FILES)} into {target} "
                        f"(or point ${MODELS_DIR_ENV} at a folder with a laser/ subfolder holding them)"
                    ) from None
                part.replace(target / name)
    return target
