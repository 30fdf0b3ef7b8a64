"""Tests of deltaprop.datasets.download: fetching MNIST from mirrors (a local HTTP server)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest

from deltaprop.datasets import (
    IDX_FILES,
    load_mnist,
)
from deltaprop.errors import DownloadError


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_download_good_files(tmp_path, datasets_mirror, datasets_mnist_files):
    files, checksums, arrays = datasets_mnist_files
    url = datasets_mirror.serve("good", files)
    cache = tmp_path / "cache" / "mnist"
    data = load_mnist(cache, mirrors=[url], checksums=checksums, timeout=5)
    assert sorted(p.name for p in cache.iterdir()) == sorted(files)
    assert data.train.X.shape == (10, 784) and data.test.X.shape == (6, 784)
    np.testing.assert_array_equal(data.test.X * 255, arrays[IDX_FILES[2]].reshape(6, 784))
    assert _leftovers(cache) == []
    # a second call reads the cache and does not download again
    count = len(datasets_mirror.requests)
    load_mnist(cache, mirrors=[url], checksums=checksums, timeout=5)
    assert len(datasets_mirror.requests) == count


def test_download_into_deltaprop_data(tmp_path, monkeypatch, datasets_mirror, datasets_mnist_files):
    files, checksums, _ = datasets_mnist_files
    url = datasets_mirror.serve("good", files)
    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "env"))
    data = load_mnist(mirrors=url, checksums=checksums, timeout=5)
    assert data.n_classes == 10
    assert (tmp_path / "env" / "mnist" / f"{IDX_FILES[0]}.gz").is_file()


def test_download_bad_checksum_leaves_nothing(tmp_path, datasets_mirror, datasets_mnist_files):
    files, checksums, _ = datasets_mnist_files
    url = datasets_mirror.serve("good", files)
    wrong = dict(checksums, **{IDX_FILES[0]: "0" * 32})
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        load_mnist(cache, mirrors=[url], checksums=wrong, timeout=5)
    message = str(info.value)
    assert "md5" in message and str(cache.absolute()) in message
    assert f"{IDX_FILES[0]}.gz" in message
    assert not (cache / f"{IDX_FILES[0]}.gz").exists()
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("failure", ["truncate", "missing", "garbage"])
def test_download_falls_back_to_second_mirror(
    tmp_path, datasets_mirror, datasets_mnist_files, failure
):
    files, checksums, _ = datasets_mnist_files
    if failure == "garbage":
        broken = datasets_mirror.serve("broken", {n: b"<html>not here</html>" for n in files})
    else:
        broken = datasets_mirror.serve("broken", files if failure == "truncate" else {}, failure)
    good = datasets_mirror.serve("good", files)
    cache = tmp_path / "cache"
    data = load_mnist(cache, mirrors=[broken, good], checksums=checksums, timeout=5)
    assert data.test.X.shape == (6, 784)
    for name in files:
        assert f"/broken/{name}" in datasets_mirror.requests
        assert f"/good/{name}" in datasets_mirror.requests
    assert _leftovers(cache) == []


def test_download_truncated_everywhere_raises(tmp_path, datasets_mirror, datasets_mnist_files):
    files, checksums, _ = datasets_mnist_files
    url = datasets_mirror.serve("broken", files, "truncate")
    with pytest.raises(DownloadError, match="truncated"):
        load_mnist(tmp_path / "c", mirrors=[url], checksums=checksums, timeout=5)
    assert list((tmp_path / "c").iterdir()) == []


def test_download_dead_server_says_where_to_put_files(tmp_path, datasets_no_hang):
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = tmp_path / "offline"
    start = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        load_mnist(cache, mirrors=[f"http://127.0.0.1:{port}/a/", f"http://127.0.0.1:{port}/b/"])
    assert time.perf_counter() - start < 20
    message = str(info.value)
    assert str(cache.absolute()) in message
    for stem in IDX_FILES:
        assert f"{stem}.gz" in message
    assert "/a/" in message and "/b/" in message
    assert isinstance(info.value, OSError)
    assert list(cache.iterdir()) == []


def test_download_with_no_mirrors(tmp_path):
    with pytest.raises(DownloadError, match="no mirrors given"):
        load_mnist(tmp_path / "x", mirrors=[])
