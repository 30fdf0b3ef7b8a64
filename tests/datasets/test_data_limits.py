"""The limits of deltaprop.datasets: what a file needs is checked against them before allocating."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from datasets_support import npy_of, zip_with
from matplotlib import image as mpimage

from deltaprop import limits
from deltaprop.datasets import (
    base,
    imagefiles,
    inputs,
    load_csv,
    load_idx_dir,
    load_npz,
    read_csv_rows,
    read_idx,
    read_image,
    read_npy_rows,
    tables,
    write_idx,
)
from deltaprop.datasets.idx import read_idx_header
from deltaprop.errors import DataFormatError


@pytest.fixture
def little_memory(monkeypatch):
    """The system says only 1 kB is available."""
    monkeypatch.setattr(limits, "available_memory", lambda: 1000)


def _idx_folder(folder, labels, images=None):
    folder.mkdir()
    count = labels.shape[0]
    if images is None:
        images = np.zeros((count, 2, 2), np.uint8)
    write_idx(folder / "train-images-idx3-ubyte", images)
    write_idx(folder / "train-labels-idx1-ubyte", labels)
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(3, dtype=labels.dtype))
    return folder


# -- labels ---------------------------------------------------------------------------------------


def test_a_stray_label_is_refused_not_turned_into_classes(tmp_path):
    labels = np.arange(30, dtype=np.int32) % 10
    labels[4] = 500
    with pytest.raises(DataFormatError, match=r"label 4 = 500 would make 501 classes, but the labels "
                                              r"take only 11 distinct values \(at most 32 classes"):
        load_idx_dir(_idx_folder(tmp_path / "a", labels))
    labels[4] = 31  # 2 x 11 + 10 = 32 classes: sparse labels within the rule are kept
    assert load_idx_dir(_idx_folder(tmp_path / "b", labels)).n_classes == 32
    # tables make any labels classes: a stray label is one more class, never a giant layer
    X = np.zeros((6, 3))
    np.savez(tmp_path / "t.npz", X=X, y=np.array([0, 1, 0, 1, 0, 99]))
    data = load_npz(tmp_path / "t.npz")
    assert data.n_classes == 3 and data.classes == (0, 1, 99)
    (tmp_path / "t.csv").write_text("a,label\n" + "".join(f"0,{v}\n" for v in [0, 1, 0, 1, 0, 99]))
    data = load_csv(tmp_path / "t.csv")
    assert data.n_classes == 3 and data.classes == (0, 1, 99)


# -- IDX ------------------------------------------------------------------------------------------


def test_idx_header_and_memory_are_checked_before_reading(tmp_path, little_memory):
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros((40, 40), np.uint8))
    assert read_idx_header(path) == ((40, 40), np.dtype(">u1"))
    with pytest.raises(DataFormatError, match=r"x.idx: its IDX data of shape \(40, 40\) would need "
                                              r"1.6 kB of memory, more than the 1 kB available"):
        read_idx(path)


def test_idx_images_as_floats_are_checked_against_the_limit(tmp_path, monkeypatch):
    folder = _idx_folder(tmp_path / "d", np.arange(30, dtype=np.uint8) % 3)
    monkeypatch.setattr(base, "MAX_DECODED_BYTES", 1000)
    with pytest.raises(DataFormatError, match=r"30 images of 4 values as float64 would need 1.08 kB, "
                                              r"more than the limit of 1 kB"):
        load_idx_dir(folder)


def test_idx_labels_are_counted_before_they_are_read(tmp_path):
    folder = _idx_folder(tmp_path / "d", np.arange(30, dtype=np.uint8) % 3)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(29, np.uint8))
    with pytest.raises(DataFormatError, match="29 labels for the 30 images"):
        load_idx_dir(folder)


# -- .npz and .npy --------------------------------------------------------------------------------


def test_npz_arrays_are_checked_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "t.npz"
    path.write_bytes(zip_with({"X.npy": npy_of(np.zeros((10, 8), np.uint8)),
                               "y.npy": npy_of(np.zeros(10, np.uint8))}))
    monkeypatch.setattr(base, "MAX_DECODED_BYTES", 1000)
    with pytest.raises(DataFormatError, match=r"arrays X \(10, 8\) and y \(10,\) as float64 would "
                                              r"need 1.61 kB, more than the limit of 1 kB"):
        load_npz(path)


def test_npz_member_names_are_listed_shortly(tmp_path):
    path = tmp_path / "t.npz"
    path.write_bytes(zip_with({f"a{i}.npy": npy_of(np.zeros(1)) for i in range(50)}))
    with pytest.raises(DataFormatError, match=r"found 'a0', 'a1', 'a2', 'a3', 'a4' and 45 more") as info:
        load_npz(path)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(("shape", "message"), [
    ((10**12, 0), r"declares shape \(1000000000000, 0\) of float64 = 8000000000000 bytes \(ignoring zero"),
    ((2**31, 2), r"declares shape \(2147483648, 2\)"),
])
def test_npy_shapes_beyond_the_limit_are_refused_even_when_empty(tmp_path, shape, message):
    path = tmp_path / "rows.npy"
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": "<f8", "fortran_order": False,
                                                    "shape": shape})
    with pytest.raises(DataFormatError, match=message):
        read_npy_rows(path, 2)


def test_npy_rows_as_floats_are_checked_against_the_memory(tmp_path, little_memory):
    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((100, 4), np.uint8))
    with pytest.raises(DataFormatError, match=r"an array of shape \(100, 4\) as float64 rows would need "
                                              r"4 kB of memory"):
        read_npy_rows(path, 4)


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_files_beyond_their_limit_are_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("a,label\n" + "1,0\n" * 100)
    monkeypatch.setattr(tables, "MAX_CSV_BYTES", 100)
    for read in (load_csv, lambda p: read_csv_rows(p, 1)):
        with pytest.raises(DataFormatError, match=r"the file is 408 bytes, more than the limit of 100 bytes"):
            read(path)


def test_csv_values_are_checked_against_the_memory_as_they_are_read(tmp_path, monkeypatch, little_memory):
    path = tmp_path / "t.csv"
    path.write_text("a,label\n" + "1,0\n1,1\n" * 100)
    monkeypatch.setattr(tables, "CHECK_EVERY", 64)
    with pytest.raises(DataFormatError, match=r"the 64 values read so far would need 1.54 kB of memory"):
        load_csv(path)


# -- PNG ------------------------------------------------------------------------------------------


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_images_beyond_the_pixel_limit_are_not_decoded(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(_png(300, 200))
    assert imagefiles.png_size(path) == (300, 200)
    assert read_image(path, (8, 8)).shape == (1, 64)
    monkeypatch.setattr(inputs, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(DataFormatError, match=r"the image is 300 x 200 = 60,000 pixels, more than the "
                                              r"limit of 50,000; scale it down first"):
        read_image(path, (8, 8))


def test_images_are_checked_against_the_memory(tmp_path, little_memory):
    path = tmp_path / "d.png"
    mpimage.imsave(path, np.zeros((20, 20)), cmap="gray")
    with pytest.raises(DataFormatError,
                       match=r"decoding and preparing a 20 x 20 image would need [0-9.]+ kB of memory"):
        read_image(path, (8, 8))
    (tmp_path / "e.png").write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bytes(17))
    with pytest.raises(DataFormatError, match=r"declares an empty 0 x 0 image"):
        read_image(tmp_path / "e.png", (8, 8))
