"""Downloading missing MNIST files from public mirrors, md5-checked and written atomically."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from deltaprop._files import atomic_write
from deltaprop.datasets.base import CHUNK, MAX_DATA_BYTES
from deltaprop.datasets.idx import IDX_MAX_RANK
from deltaprop.errors import DataFormatError, DownloadError

__all__ = ["DEFAULT_MIRRORS", "MAX_DOWNLOAD_BYTES", "MNIST_MD5", "download_missing", "where_to_put"]

#: Largest compressed download accepted from a mirror.
MAX_DOWNLOAD_BYTES = 2**28
#: md5 of the UNCOMPRESSED content of each MNIST file, keyed by the uncompressed file name.
MNIST_MD5: Mapping[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
#: Public mirrors of the gzip-compressed MNIST files, tried in order.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


def where_to_put(directory: Path, missing: Sequence[str]) -> str:
    """The short sentence telling a user which files are missing and where to put them by hand."""
    names = ", ".join(f"{stem}.gz" for stem in missing)
    return f"Put {names} (or uncompressed) in {directory.absolute()}, or set $DELTAPROP_DATA."


def download_missing(
    directory: Path,
    missing: Sequence[str],
    mirrors: Sequence[str],
    checksums: Mapping[str, str],
    timeout: float,
) -> None:
    """Fetch each missing ``stem.gz`` into ``directory`` from the first mirror that serves it intact.

    ``checksums`` maps a stem to the md5 of its uncompressed content (stems absent are not
    checked); ``timeout`` is in seconds per network operation. Raises DownloadError, naming every
    mirror tried and the files still missing, when some file comes intact from no mirror.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(
            f"cannot create the data folder {directory}: {error}. " + where_to_put(directory, missing)
        ) from None
    for index, stem in enumerate(missing):
        failures = []
        for mirror in mirrors:
            url = f"{mirror.rstrip('/')}/{stem}.gz"
            try:
                _fetch(url, directory / f"{stem}.gz", checksums.get(stem), timeout)
                break
            except (OSError, http.client.HTTPException, ValueError) as error:
                failures.append((mirror, _reason(error)))
        else:
            raise _download_error(stem, failures, where_to_put(directory, missing[index:]))


def _reason(error: BaseException) -> str:
    """Why a download failed, in a few words: a URLError's own reason, at most 80 characters."""
    cause = getattr(error, "reason", None) or error
    reason = " ".join(str(getattr(cause, "strerror", None) or cause).split()) or type(error).__name__
    return reason if len(reason) <= 80 else reason[:79] + "…"


def _download_error(stem: str, failures: list[tuple[str, str]], advice: str) -> DownloadError:
    """The error of a file no mirror served: its message names each mirror and why it failed; its
    ``summary``, the one line a command prints, gives only the reasons, once each."""
    tried = "; ".join(f"{mirror} ({reason})" for mirror, reason in failures) or "no mirrors given"
    reasons = "; ".join(dict.fromkeys(reason for _, reason in failures)) or "no mirrors given"
    error = DownloadError(f"could not download {stem}.gz from {tried}. {advice}")
    error.summary = f"could not download {stem}.gz ({reasons}). {advice}"  # type: ignore[attr-defined]
    return error


def _fetch(url: str, target: Path, md5: str | None, timeout: float) -> None:
    """Download ``url`` to ``target`` atomically; its gzip content must have md5 ``md5``."""
    with atomic_write(target) as out:
        total = 0
        with urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length", "")
            while chunk := response.read(CHUNK):
                total += len(chunk)
                if total > MAX_DOWNLOAD_BYTES:
                    raise DownloadError(f"larger than the limit of {MAX_DOWNLOAD_BYTES} bytes")
                out.write(chunk)
        if announced.isdigit() and total != int(announced):
            raise DownloadError(f"truncated: received {total} of {announced} bytes")
        if total == 0:
            raise DownloadError("empty response")
        out.seek(0)
        digest = _gzip_content_md5(out, url)
        if md5 is not None and digest != md5.lower():
            raise DownloadError(f"md5 of the uncompressed content is {digest}, expected {md5}")


def _gzip_content_md5(stream: IO[bytes], source: str) -> str:
    """md5 hex digest of the decompressed content of a gzip stream (bounded in size)."""
    digest = hashlib.md5(usedforsecurity=False)
    total = 0
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as content:
            while chunk := content.read(CHUNK):
                total += len(chunk)
                if total > MAX_DATA_BYTES + 4 + 4 * IDX_MAX_RANK:
                    raise DataFormatError(f"{source}: decompresses to more than {MAX_DATA_BYTES} bytes")
                digest.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataFormatError(f"{source}: not valid gzip data: {error}") from None
    return digest.hexdigest()
