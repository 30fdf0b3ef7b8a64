"""Photos of digits prepared the way MNIST was made (deltaprop.datasets.images).

A synthetic photo: a digit scaled to 200x200, dark ink on unevenly lit paper (a gradient and noise),
saved as PNG or JPEG. Prepared, it must come back close to the 28x28 original, and a network trained
on MNIST must read it as the original's label (trained here on a subset of the official files when
they are in ../shared/data/mnist).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from deltaprop.datasets.images import (
    LAYOUTS,
    layout_for,
    otsu_threshold,
    paper_surface,
    prepare_digit,
)
from deltaprop.datasets.inputs import read_image

SHARED_MNIST = (Path(__file__).resolve().parents[2] / "../shared/data/mnist").resolve()


def seven() -> np.ndarray:
    """A drawn "7", light on black, laid out like MNIST (28x28)."""
    image = np.zeros((28, 28))
    image[5:8, 7:22] = 1.0  # the bar
    for row in range(8, 24):  # the stem, slanting down to the left
        column = 21 - (row - 8) * 9 // 16
        image[row, column - 2:column + 1] = 1.0
    return ndimage.gaussian_filter(image, 0.5).clip(0, 1)


def photo(digit: np.ndarray, side: int = 200, dark_ink: bool = True, seed: int = 0) -> np.ndarray:
    """``digit`` (light on black, [0, 1]) scaled to ``side`` rows as a photo: ink on a lit
    gradient, noisy."""
    big = ndimage.zoom(digit, side / digit.shape[0], order=1).clip(0, 1)
    rows, columns = np.mgrid[0:big.shape[0], 0:big.shape[1]] / side
    paper = 0.55 + 0.32 * columns + 0.1 * rows  # uneven light: 0.55 in a corner, 0.97 in another
    noise = np.random.default_rng(seed).normal(0, 0.03, big.shape)
    image = paper * (1 - 0.8 * big) if dark_ink else 0.1 + 0.35 * paper * big + 0.2 * rows
    return (image + noise).clip(0, 1)


def save(gray: np.ndarray, path: Path) -> Path:
    Image.fromarray((gray * 255).round().astype(np.uint8)).save(path)
    return path


def test_otsu_threshold_splits_two_groups():
    values = np.concatenate([np.full(90, 0.1), np.full(10, 0.8)])
    assert 0.1 <= otsu_threshold(values) < 0.8
    assert otsu_threshold(np.full(5, 0.3)) == 0.3


def test_paper_surface_fits_the_lighting_under_the_ink():
    rows, columns = np.mgrid[0:120, 0:160] / 120
    paper = 0.5 + 0.3 * columns + 0.15 * rows ** 2  # a gradient, brighter to the right and bottom
    ink = np.zeros_like(paper)
    ink[:, 20:60] = 0.7  # a broad dark band across the whole picture, touching its border
    ink[50:70, :] = 0.7
    gray = paper * (1 - ink)
    assert np.abs(paper_surface(gray, dark_ink=True) - paper).max() < 0.02
    light = 0.2 + 0.1 * columns + 0.6 * (ink > 0)  # light strokes on dark, uneven paper
    assert np.abs(paper_surface(light, dark_ink=False) - (0.2 + 0.1 * columns)).max() < 0.02


def test_layouts_mnist_and_digits():
    assert layout_for((28, 28)).box == 20 and layout_for((28, 28)).centre == (14.0, 14.0)
    assert layout_for((8, 8)) == LAYOUTS[(8, 8)]
    assert layout_for((14, 14)).box == 10


def test_an_mnist_image_is_left_as_it_is():
    digit = seven()
    prepared = prepare_digit(digit, (28, 28))
    assert np.abs(prepared - prepare_digit(prepared, (28, 28))).max() < 0.1  # idempotent
    ys, xs = np.nonzero(prepared > 0.05)
    assert ys.max() - ys.min() + 1 == 20  # fits the 20x20 box, taller than wide
    assert np.allclose(ndimage.center_of_mass(prepared), (14, 14), atol=0.5)


@pytest.mark.parametrize(("dark_ink", "suffix"), [(True, ".png"), (False, ".png"), (True, ".jpg")])
def test_a_photo_comes_back_close_to_the_original(tmp_path, dark_ink, suffix):
    original = prepare_digit(seven(), (28, 28))
    path = save(photo(seven(), dark_ink=dark_ink), tmp_path / f"seven{suffix}")
    prepared = read_image(path, (28, 28)).reshape(28, 28)
    assert np.abs(prepared - original).mean() < 0.08
    assert np.corrcoef(prepared.ravel(), original.ravel())[0, 1] > 0.85
    assert prepared[:4].max() == 0 and prepared[:, :3].max() == 0  # a clean black margin
    # Only stretching the contrast leaves the gradient in: far from the original.
    resized = read_image(path, (28, 28), prepare="resize").reshape(28, 28)
    assert np.corrcoef(resized.ravel(), original.ravel())[0, 1] < 0.8


def test_a_small_digit_anywhere_on_a_large_page(tmp_path):
    page = np.zeros((300, 400))
    page[180:236, 40:96] = ndimage.zoom(seven(), 2)  # a 56x56 "7" near the lower left corner
    prepared = prepare_digit(photo(page, side=300), (28, 28))
    assert np.corrcoef(prepared.ravel(), prepare_digit(seven(), (28, 28)).ravel())[0, 1] > 0.85


def test_digits_sized_input_and_a_blank_page():
    prepared = prepare_digit(photo(seven()), (8, 8))
    assert prepared.shape == (8, 8) and prepared.min() == 0 and prepared.max() >= 0.75
    assert prepared[:, 0].max() > 0 or prepared[:, -1].max() > 0 or prepared[0].max() > 0
    assert np.all(prepared * 16 == np.round(prepared * 16))  # 4x4 counts of ink, as in optdigits
    blank = np.full((100, 100), 0.8) + np.random.default_rng(0).normal(0, 0.001, (100, 100))
    assert prepare_digit(blank, (28, 28)).max() == 0


def _mnist(kind: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(SHARED_MNIST / f"{kind}-images-idx3-ubyte.gz") as file:
        X = np.frombuffer(file.read(), np.uint8, offset=16).reshape(-1, 784)[:rows] / 255
    with gzip.open(SHARED_MNIST / f"{kind}-labels-idx1-ubyte.gz") as file:
        y = np.frombuffer(file.read(), np.uint8, offset=8)[:rows].astype(np.int64)
    return X, y


def test_a_network_trained_on_mnist_reads_photos_of_its_test_digits(tmp_path):
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the MNIST files are not at {SHARED_MNIST}")
    from deltaprop import Network, fit

    X, y = _mnist("train", 10_000)
    net = Network([784, 30, 10], seed=0)
    fit(net, X, y, epochs=3, batch_size=10, eta=0.5, seed=0)
    X_test, y_test = _mnist("t10k", 40)
    right = [k for k in range(40) if net.predict(X_test[k:k + 1])[0] == y_test[k]][:12]
    assert len(right) >= 10
    photos = [save(photo(X_test[k].reshape(28, 28), seed=k), tmp_path / f"{k}.png") for k in right]
    prepared = np.vstack([read_image(path, (28, 28)) for path in photos])
    assert np.mean(np.abs(prepared - X_test[right])) < 0.06
    assert net.predict(prepared).tolist() == y_test[right].tolist()


@pytest.mark.parametrize("size", [(1, 1), (1, 300), (65, 1), (2, 65), (64, 64), (65, 65), (900, 7)])
def test_odd_pictures_give_an_input_without_warnings(size):
    import warnings

    rng = np.random.default_rng(0)
    pictures = [np.zeros(size), np.ones(size), rng.uniform(size=size),
                (np.arange(np.prod(size)).reshape(size) % 2).astype(float)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for gray in pictures:
            for invert in ("auto", "yes", "no"):
                for shape in ((28, 28), (8, 8), (5, 7)):
                    prepared = prepare_digit(gray, shape, invert)
                    assert prepared.shape == shape and np.all(np.isfinite(prepared))
                    assert prepared.min() >= 0 and prepared.max() <= 1


def test_the_paper_fit_equals_least_squares_by_svd():
    """The fast fit (normal equations, the surface from a row and a column of terms) gives what
    numpy's SVD least squares gives on the full (rows, columns, 6) design, to float noise."""
    from deltaprop.datasets import images

    rng = np.random.default_rng(0)
    design = np.asarray(images._quadratic_terms(40, 64))
    values = rng.uniform(size=design.shape[0])
    keep = rng.uniform(size=design.shape[0]) < 0.7
    fast = images._least_squares(design[keep], values[keep])
    np.testing.assert_allclose(fast, np.linalg.lstsq(design[keep], values[keep], rcond=None)[0],
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(images._quadratic_surface(fast, 40, 64).ravel(), design @ fast,
                               rtol=1e-12, atol=1e-12)
    one_row = design[:64]  # y = 0 everywhere: a singular Gram matrix, solved by the SVD instead
    assert np.all(np.isfinite(images._least_squares(one_row, values[:64])))
