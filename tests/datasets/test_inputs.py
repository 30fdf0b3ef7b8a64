"""Tests of deltaprop.datasets.inputs: the .npy and .csv files and the images (every format Pillow
reads) a trained network predicts from."""

from __future__ import annotations

import numpy as np
import pytest
from datasets_support import FUZZ, csv_texts, mutated, no_hang, npy, npy_headers, npy_of
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import image as mpimage

from deltaprop.datasets import (
    IMAGE_SHAPES,
    area_resize,
    grayscale,
    image_shape_for,
    imagefiles,
    inputs,
    read_csv_rows,
    read_image,
    read_inputs,
    read_npy_rows,
)
from deltaprop.errors import DataFormatError

ROWS = np.arange(3 * 64, dtype=np.float64).reshape(3, 64) / 200


# -- image_shape_for -----------------------------------------------------------------------------


def test_image_shape_for_stored_known_and_square():
    assert image_shape_for(64, [4, 16]) == (4, 16)  # as stored in a model's JSON metadata
    assert image_shape_for(64, (16, 4)) == (16, 4)
    assert image_shape_for(784) == (28, 28) and image_shape_for(64) == (8, 8)
    assert IMAGE_SHAPES[784] == (28, 28)
    assert image_shape_for(49) == (7, 7)
    assert image_shape_for(10, (2, 5)) == (2, 5)
    for unfit in ([5, 5], [8], "8x8", [8.0, 8.0], [True, 64], {"h": 8}, [-8, -8]):
        assert image_shape_for(64, unfit) == (8, 8)  # a stored shape that does not fit is ignored


def test_image_shape_for_non_image():
    with pytest.raises(ValueError, match="the model takes 10 inputs, which is not an image"):
        image_shape_for(10)
    with pytest.raises(ValueError, match="n_inputs"):
        image_shape_for(0)
    with pytest.raises(TypeError, match="n_inputs"):
        image_shape_for(64.0)


# -- .npy ----------------------------------------------------------------------------------------


def test_read_npy_rows_shapes(tmp_path):
    cases = {
        "rows": (ROWS, ROWS),
        "one": (ROWS[0], ROWS[:1]),
        "images": (ROWS.reshape(3, 8, 8), ROWS),
        "image": (ROWS[0].reshape(8, 8), ROWS[:1]),
        "float32": (ROWS.astype(np.float32), ROWS.astype(np.float32)),
        "uint8": (np.full((2, 64), 7, np.uint8), np.full((2, 64), 7.0)),
        "bool": (np.eye(2, 64, dtype=bool), np.eye(2, 64)),
        "fortran": (np.asfortranarray(ROWS), ROWS),
    }
    for name, (stored, expected) in cases.items():
        np.save(tmp_path / f"{name}.npy", stored)
        rows = read_npy_rows(tmp_path / f"{name}.npy", 64)
        assert rows.dtype == np.float64 and rows.shape == expected.shape, name
        np.testing.assert_array_equal(rows, expected.astype(np.float64))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"this is not an array", "not a .npy file"),
        (b"", "not a .npy file"),
        (npy_of(np.zeros((3, 10))), r"array of shape \(3, 10\) does not fit the model's 64 inputs"),
        (npy_of(np.zeros((0, 64))), r"shape \(0, 64\) does not fit"),
        (npy_of(np.float64(1.0)), r"shape \(\) does not fit"),
        (npy_of(np.array([[1, "a"]] * 64, dtype=object)), "Python objects"),
        (npy_of(np.zeros((2, 64), complex)), "must hold numbers"),
        (npy_of(np.array(["a"] * 64)), "must hold numbers"),
        (npy_of(ROWS)[:-8], "declares shape"),
        (npy_of(ROWS) + b"\x00", "declares shape"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12, 64), }".replace(
            "10**12", str(10**12))), "declares shape"),
        (b"\x93NUMPY\x01\x00\x10\x00{'descr': nope}\n", "unreadable .npy header"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': )3, 4), }"), "unreadable .npy header"),
        (npy("{[1]: 2}"), "unreadable .npy header"),
        (b"\x93NUMPY\x07\x00", "unsupported .npy version"),
        (npy_of(np.where(np.eye(2, 64) > 0, np.nan, 0)), "row 0, column 0 is nan; expected finite"),
    ],
    ids=["text", "empty", "width", "no-rows", "scalar", "object", "complex", "strings", "truncated",
         "extra", "huge-header", "garbled-header", "old-header",
         "unhashable-header", "version", "nan"],
)
def test_read_npy_rows_bad(tmp_path, content, match):
    path = tmp_path / "bad.npy"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=match) as info:
        read_npy_rows(path, 64)
    assert "bad.npy" in str(info.value)


def test_read_npy_rows_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.npy"):
        read_npy_rows(tmp_path / "none.npy", 64)
    np.save(tmp_path / "rows.npy", ROWS)
    with pytest.raises(ValueError, match="n_inputs"):
        read_npy_rows(tmp_path / "rows.npy", 0)


# -- .csv ----------------------------------------------------------------------------------------


def _csv(rows: np.ndarray) -> list[str]:
    return [",".join(map(repr, map(float, row))) for row in rows]


def test_read_csv_rows_with_and_without_header(tmp_path):
    header = ",".join(["label", *(f"p{i}" for i in range(64))])
    labelled = [f"9,{line}" for line in _csv(ROWS)]
    (tmp_path / "labelled.csv").write_text("\n".join([header, *labelled]) + "\n")
    (tmp_path / "plain.csv").write_text("\n\n".join(_csv(ROWS)))  # blank lines are skipped
    (tmp_path / "bom.csv").write_text("\ufeff" + "\n".join(_csv(ROWS)), encoding="utf-8")
    middle = ",".join([*(f"p{i}" for i in range(32)), " Label ", *(f"q{i}" for i in range(32))])
    (tmp_path / "middle.csv").write_text(
        "\n".join([middle, *(",".join([*line.split(",")[:32], "3", *line.split(",")[32:]])
                             for line in _csv(ROWS))])
    )
    (tmp_path / "unlabelled.csv").write_text("\n".join([header[6:], *_csv(ROWS)]))
    for name in ("labelled", "plain", "bom", "middle", "unlabelled"):
        rows = read_csv_rows(tmp_path / f"{name}.csv", 64)
        assert rows.dtype == np.float64
        np.testing.assert_array_equal(rows, ROWS, err_msg=name)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"no rows of features \(the file is empty\)"),
        ("\n\n", "no rows of features"),
        ("a,b,c,label\n", "no rows of features after the header"),
        ("label,a,b\n1,2,oops\n", r"line 1: the header names 2 feature columns \(besides 'label'\), but the "
                                  "model takes 3"),
        ("a,b,c\n1,2,oops\n", r"line 2, column 3 \('c'\): 'oops' is not a number"),
        ("1,2,3\n4,,6\n", "line 2, column 2: '' is not a number"),
        ("a,b,c\n1,2,3\n1,2\n", "line 3: 2 fields, expected 3 as in the header"),
        ("1,2,3\n1,2,3,4\n", "line 2: 4 features, but the model takes 3"),
        ("1,2\n", "line 1: 2 features, but the model takes 3"),
        ("1,2,3\n1,nan,3\n", "line 2, column 2: nan is not a finite number"),
        ("a,b,c\n1,2,inf\n", r"line 2, column 3 \('c'\): inf is not a finite number"),
        ('1,2,3\n"1,2,3\n', "line 2: 1 features"),
    ],
)
def test_read_csv_rows_bad(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=match) as info:
        read_csv_rows(path, 3)
    assert "bad.csv" in str(info.value)


def test_read_csv_rows_not_utf8_and_missing(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"1,2,3\n\xff\xfe,1,2\n")
    with pytest.raises(DataFormatError, match="latin.csv: not UTF-8"):
        read_csv_rows(path, 3)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        read_csv_rows(tmp_path / "absent.csv", 3)


# -- images --------------------------------------------------------------------------------------


def test_area_resize_and_grayscale():
    image = np.arange(16.0).reshape(4, 4)
    np.testing.assert_allclose(area_resize(image, (4, 4)), image)
    np.testing.assert_allclose(area_resize(image, (2, 2)), [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_allclose(area_resize(np.kron(image, np.ones((3, 3))), (4, 4)), image)
    np.testing.assert_allclose(area_resize(np.ones((3, 5)), (7, 2)), np.ones((7, 2)))
    rgba = np.zeros((2, 2, 4))  # transparent: counts as white
    rgba[0, 0] = [1, 1, 1, 1]  # opaque white
    rgba[0, 1] = [0, 0, 0, 1]  # opaque black
    rgba[1, 0] = [0, 0, 0, 0.25]  # black, a quarter opaque
    np.testing.assert_allclose(grayscale(rgba), [[1, 0], [0.75, 1]])
    np.testing.assert_allclose(grayscale(np.array([[0, 255], [51, 102]], np.uint8)), [[0, 1], [0.2, 0.4]])
    np.testing.assert_allclose(grayscale(np.ones((1, 1, 3)) * [1, 0, 0]), [[0.299]])


def _digit() -> np.ndarray:
    """An 8x8 image of light strokes on black, spanning [0, 1]."""
    image = np.zeros((8, 8))
    image[1:7, 3:5] = 1.0
    image[1, 2] = 0.5
    return image


def test_read_image_dark_light_and_invert(tmp_path):
    image = _digit()
    mpimage.imsave(tmp_path / "dark.png", image, cmap="gray", vmin=0, vmax=1)
    # Dark ink on white, ten times larger: inverted and area-resized back to 8x8.
    mpimage.imsave(tmp_path / "light.png", np.kron(1 - image, np.ones((10, 10))), cmap="gray",
                   vmin=0, vmax=1)
    for name in ("dark", "light"):
        row = read_image(tmp_path / f"{name}.png", (8, 8), prepare="resize")
        assert row.shape == (1, 64) and row.dtype == np.float64
        np.testing.assert_allclose(row, image.reshape(1, 64), atol=0.01, err_msg=name)
    np.testing.assert_allclose(read_image(tmp_path / "light.png", (8, 8), "no", "resize"),
                               1 - image.reshape(1, 64), atol=0.01)
    np.testing.assert_allclose(read_image(tmp_path / "dark.png", (8, 8), "yes", "resize"),
                               1 - image.reshape(1, 64), atol=0.01)
    assert read_image(tmp_path / "dark.png", (4, 16)).shape == (1, 64)
    # Prepared as a digit (the default), dark ink on light paper and light on dark agree.
    light, dark = (read_image(tmp_path / f"{name}.png", (8, 8)) for name in ("light", "dark"))
    assert np.corrcoef(light.ravel(), dark.ravel())[0, 1] > 0.95
    assert np.abs(light - dark).mean() < 0.05


def test_read_image_pads_to_the_aspect_ratio(tmp_path):
    wide = np.zeros((8, 16))
    wide[:, 6:10] = 1.0  # a bar in the middle of a black image twice as wide as high
    mpimage.imsave(tmp_path / "wide.png", wide, cmap="gray", vmin=0, vmax=1)
    gray = read_image(tmp_path / "wide.png", (8, 8), prepare="resize").reshape(8, 8)
    np.testing.assert_allclose(gray[:2], 0, atol=0.01)  # black padding above and below
    np.testing.assert_allclose(gray[-2:], 0, atol=0.01)
    np.testing.assert_allclose(gray[2:6, 3:5], 1, atol=0.01)


def test_read_image_bad_file_and_arguments(tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(DataFormatError, match="fake.png: not a readable PNG image"):
        read_image(path, (8, 8))
    with pytest.raises(FileNotFoundError, match="none.png"):
        read_image(tmp_path / "none.png", (8, 8))
    mpimage.imsave(tmp_path / "ok.png", _digit(), cmap="gray")
    with pytest.raises(ValueError, match="invert must be one of"):
        read_image(tmp_path / "ok.png", (8, 8), invert="maybe")
    with pytest.raises(ValueError, match="prepare must be one of"):
        read_image(tmp_path / "ok.png", (8, 8), prepare="mnist")
    (tmp_path / "fake.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 20)
    with pytest.raises(DataFormatError, match="fake.jpg: not a readable JPEG image"):
        read_image(tmp_path / "fake.jpg", (8, 8))
    for shape in [(8,), (0, 8), (8.0, 8.0), "8x8", None]:
        with pytest.raises(ValueError, match="shape must be"):
            read_image(tmp_path / "ok.png", shape)


# -- read_inputs ---------------------------------------------------------------------------------


def test_read_inputs_by_suffix(tmp_path):
    np.save(tmp_path / "rows.npy", ROWS)
    (tmp_path / "ROWS.CSV").write_text("\n".join(_csv(ROWS)))
    mpimage.imsave(tmp_path / "digit.png", _digit(), cmap="gray", vmin=0, vmax=1)
    np.testing.assert_array_equal(read_inputs(tmp_path / "rows.npy", 64), ROWS)
    np.testing.assert_array_equal(read_inputs(str(tmp_path / "ROWS.CSV"), 64), ROWS)
    np.testing.assert_allclose(read_inputs(tmp_path / "digit.png", 64, prepare="resize"),
                               _digit().reshape(1, 64), atol=0.01)
    assert read_inputs(tmp_path / "digit.png", 64, image_shape=[4, 16]).shape == (1, 64)
    assert read_inputs(tmp_path / "digit.png", 49).shape == (1, 49)  # 7x7


def test_read_inputs_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.npy"):
        read_inputs(tmp_path / "none.npy", 64)
    (tmp_path / "rows.txt").write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"cannot read .*rows.txt: expected a .npy or .csv file or an image"):
        read_inputs(tmp_path / "rows.txt", 3)
    mpimage.imsave(tmp_path / "digit.png", np.eye(8), cmap="gray")
    with pytest.raises(ValueError, match="10 inputs"):
        read_inputs(tmp_path / "digit.png", 10)
    with pytest.raises(ValueError, match="invert"):
        read_inputs(tmp_path / "digit.png", 64, invert=True)
    np.save(tmp_path / "rows64.npy", np.zeros((3, 64)))
    with pytest.raises(DataFormatError, match=r"\(3, 64\).*10 inputs"):
        read_inputs(tmp_path / "rows64.npy", 10)


# -- fuzzing: malformed input raises only DataFormatError, and nothing hangs -----------------------


@FUZZ
@given(
    data=st.one_of(
        mutated([b"a,label,b\n1,0,2\n3.5,1,-4\n", b"\xef\xbb\xbf1,2\n\n3,4\n", b'"1","2"\n"3","4"\n']),
        csv_texts.map(str.encode),
        st.binary(max_size=80),
    )
)
def test_fuzz_read_csv_rows(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        with no_hang(10):
            rows = read_csv_rows(path, 2)
    except DataFormatError:
        return
    assert rows.ndim == 2 and rows.shape[1] == 2 and rows.shape[0] >= 1
    assert rows.dtype == np.float64 and np.all(np.isfinite(rows))


@FUZZ
@given(data=st.one_of(mutated([npy_of(ROWS[:, :4]), npy_of(np.eye(2, dtype=np.uint8))]), npy_headers,
                      st.binary(max_size=80)))
def test_fuzz_read_npy_rows(tmp_path, data):
    path = tmp_path / "fuzz.npy"
    path.write_bytes(data)
    try:
        with no_hang(10):
            rows = read_npy_rows(path, 4)
    except DataFormatError:
        return
    assert rows.ndim == 2 and rows.shape[1] == 4 and rows.shape[0] >= 1
    assert rows.dtype == np.float64 and np.all(np.isfinite(rows))


# -- every image format ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".bmp", ".gif", ".tif", ".webp", ".ppm", ".tga"])
def test_every_lossless_format_reads_as_its_png(tmp_path, suffix):
    from PIL import Image

    pixels = (np.kron(_digit(), np.ones((6, 6))) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    Image.fromarray(pixels).save(tmp_path / f"digit{suffix}",
                                 **({"lossless": True} if suffix == ".webp" else {}))
    assert inputs.is_image(tmp_path / f"digit{suffix.upper()}") and not inputs.is_image("rows.npy")
    np.testing.assert_allclose(read_image(tmp_path / f"digit{suffix}", (8, 8)),
                               read_image(tmp_path / "digit.png", (8, 8)), atol=1e-12)
    assert read_inputs(tmp_path / f"digit{suffix}", 64).shape == (1, 64)


def test_an_image_is_sized_from_its_header_before_decoding(tmp_path, monkeypatch):
    from PIL import Image

    Image.fromarray(np.zeros((300, 200), np.uint8)).save(tmp_path / "big.bmp")
    assert imagefiles.image_size(tmp_path / "big.bmp") == ("BMP", 200, 300)
    decoded = []
    monkeypatch.setattr(imagefiles, "_decode", lambda path: decoded.append(path))
    monkeypatch.setattr(inputs, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(DataFormatError, match=r"big.bmp: the image is 200 x 300 = 60,000 pixels, more "
                                              r"than the limit of 50,000"):
        read_image(tmp_path / "big.bmp", (8, 8))
    assert decoded == []
    (tmp_path / "fake.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(20))
    with pytest.raises(DataFormatError, match="fake.webp: not a readable WEBP image"):
        read_image(tmp_path / "fake.webp", (8, 8))


def test_eight_bit_pixels_are_always_0_to_255():
    """A nearly black 8-bit picture (no value above 1) is still read on the 0..255 scale."""
    np.testing.assert_allclose(grayscale(np.array([[0, 1]], np.uint8)), [[0, 1 / 255]])
