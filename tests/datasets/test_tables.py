"""Tests of deltaprop.datasets.tables: the bundled digits, .npz and .csv tables."""

from __future__ import annotations

import io

import numpy as np
import pytest
from datasets_support import (
    FUZZ,
    csv_texts,
    mutated,
    no_hang,
    npy,
    npy_headers,
    npy_of,
    zip_with,
)
from hypothesis import given
from hypothesis import strategies as st

from deltaprop.datasets import (
    MAX_CLASSES,
    load_csv,
    load_dataset,
    load_digits,
    load_npz,
    load_table,
    read_table,
)
from deltaprop.errors import DataFormatError

# ---------------------------------------------------------------------------------------------
# digits


def test_load_digits():
    data = load_digits()
    assert data.name == "digits" and data.n_classes == 10 and data.image_shape == (8, 8)
    assert data.train.X.shape == (1257, 64)
    assert data.validation.X.shape == (270, 64) and data.test.X.shape == (270, 64)
    assert data.train.y.shape == (1257,) and data.train.y.dtype == np.int64
    assert data.train.X.dtype == np.float64
    everything = np.concatenate([data.train.X, data.validation.X, data.test.X])
    assert everything.min() == 0.0 and everything.max() == 1.0
    assert set(np.unique(everything * 16)) <= set(range(17))
    assert set(np.concatenate([data.train.y, data.validation.y, data.test.y])) == set(range(10))


def test_load_digits_deterministic_and_seeded():
    first, second = load_digits(seed=3), load_digits(seed=3)
    for a, b in zip(
        (first.train, first.validation, first.test),
        (second.train, second.validation, second.test),
        strict=True,
    ):
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.y, b.y)
    other = load_digits(seed=4)
    assert not np.array_equal(first.train.y, other.train.y)


def test_load_digits_float32_and_bad_arguments():
    data = load_digits(dtype="float32")
    for split in (data.train, data.validation, data.test):
        assert split.X.dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        load_digits(dtype="float16")
    with pytest.raises(ValueError, match="seed"):
        load_digits(seed=-1)


# ---------------------------------------------------------------------------------------------
# .npz


def test_load_npz_good(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(0, 100, (40, 9))
    y = (np.arange(40) % 4).astype(np.float64)  # whole-number floats are fine
    path = tmp_path / "table.npz"
    np.savez_compressed(path, X=X, y=y, extra=np.zeros(2))
    data = load_npz(path, dtype="float32", seed=1)
    assert data.name == "table" and data.n_classes == 4 and data.image_shape == (3, 3)
    assert data.train.X.shape == (28, 9)
    assert data.validation.X.shape == (6, 9) and data.test.X.shape == (6, 9)
    assert data.train.X.dtype == np.float32 and data.train.y.dtype == np.int64
    rows = np.concatenate([data.train.X, data.validation.X, data.test.X])
    # not rescaled: the same rows, shuffled
    np.testing.assert_array_equal(np.sort(rows[:, 0]), np.sort(X[:, 0].astype(np.float32)))
    again = load_npz(path, dtype="float32", seed=1)
    np.testing.assert_array_equal(again.test.X, data.test.X)
    np.savez(tmp_path / "wide.npz", X=np.ones((5, 7), dtype=np.uint8), y=np.zeros(5, np.int16))
    assert load_npz(tmp_path / "wide.npz").image_shape is None


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("object", "Python objects"),
        ("missing-y", "no array named y"),
        ("nan", r"X\[1, 2\] = nan"),
        ("inf-float32", "not a finite float32"),
        ("ragged", r"y must have shape \(5,\)"),
        ("X-1d", "X must have shape"),
        ("nan-label", r"y\[3\] = nan is not a whole number"),
        ("fraction", r"y\[0\] = .*0\.5.* is not a whole number"),
        ("complex", "must hold numbers"),
        ("npy", "single .npy array"),
        ("garbage", "not an .npz"),
        ("truncated", "npz"),
        ("lying-header", "declares shape"),
        ("huge-header", "declares shape"),
        ("raw-member", "not a .npy array"),
        ("huge-label", r"y\[0\] = 1e\+30 is not a whole number"),
        ("bool-labels", r"y must hold class labels \(integers or strings\), got dtype bool"),
        ("garbled-header", "array X has an unreadable .npy header"),
        ("unhashable-header", "array y has an unreadable .npy header"),
    ],
)
def test_load_npz_bad(tmp_path, case, match):
    path = tmp_path / "bad.npz"
    X, y = np.ones((5, 3)), np.arange(5)
    if case == "object":
        np.savez(path, X=np.array([[1, "a", None]] * 5, dtype=object), y=y)
    elif case == "missing-y":
        np.savez(path, X=X)
    elif case == "nan":
        X[1, 2] = np.nan
        np.savez(path, X=X, y=y)
    elif case == "inf-float32":
        X[0, 0] = 1e300
        np.savez(path, X=X, y=y)
        with pytest.raises(DataFormatError, match=match):
            load_npz(path, dtype="float32")
        return
    elif case == "ragged":
        np.savez(path, X=X, y=np.arange(4))
    elif case == "X-1d":
        np.savez(path, X=np.ones(5), y=y)
    elif case == "nan-label":
        np.savez(path, X=X, y=np.array([0, 1, 2, np.nan, 0]))
    elif case == "fraction":
        np.savez(path, X=X, y=np.full(5, 0.5))
    elif case == "complex":
        np.savez(path, X=X.astype(complex), y=y)
    elif case == "npy":
        np.save(path.with_suffix(".npy"), X)
        path.with_suffix(".npy").rename(path)
    elif case == "garbage":
        path.write_bytes(b"hello, world")
    elif case == "truncated":
        np.savez_compressed(path, X=X, y=y)
        path.write_bytes(path.read_bytes()[:-40])
    elif case == "lying-header":
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 2), }"
        path.write_bytes(zip_with({"X.npy": npy(header, bytes(16)), "y.npy": npy_of(y)}))
    elif case == "huge-header":
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': (10**12, 10**12), }"
        header = header.replace("10**12", str(10**12))
        path.write_bytes(zip_with({"X.npy": npy(header), "y.npy": npy_of(y)}))
    elif case == "raw-member":
        path.write_bytes(zip_with({"X": b"\x00" * 40, "y.npy": npy_of(y)}))
    elif case == "huge-label":
        np.savez(path, X=X, y=np.full(5, 1e30))
    elif case == "bool-labels":
        np.savez(path, X=X, y=np.ones(5, dtype=bool))
    elif case == "garbled-header":  # numpy's fallback parser for old headers raises TokenError
        header = "{'descr': '<f8', 'fortran_order': False, 'shape': )5, 3), }"
        path.write_bytes(zip_with({"X.npy": npy(header, bytes(120)), "y.npy": npy_of(y)}))
    elif case == "unhashable-header":  # ast.literal_eval raises TypeError
        path.write_bytes(zip_with({"X.npy": npy_of(X), "y.npy": npy("{[1]: 2}")}))
    with pytest.raises(DataFormatError, match=match) as info:
        load_npz(path)
    assert "bad.npz" in str(info.value)


def test_load_npz_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_npz(tmp_path / "absent.npz")


# ---------------------------------------------------------------------------------------------
# .csv


def test_load_csv_good(tmp_path):
    rows = [f"{i * 0.5},{i % 3},{-i}" for i in range(20)]
    text = "\ufeff f1 ,label,f2\n" + "\n".join(rows[:10]) + "\n\n" + "\n".join(rows[10:]) + "\n"
    path = tmp_path / "points.csv"
    path.write_text(text, encoding="utf-8")
    data = load_csv(path, seed=2)
    assert data.name == "points" and data.n_classes == 3 and data.image_shape is None
    assert data.train.X.shape == (14, 2) and data.validation.X.shape == (3, 2)
    assert data.test.X.shape == (3, 2)
    everything = np.concatenate([data.train.X, data.validation.X, data.test.X])
    labels = np.concatenate([data.train.y, data.validation.y, data.test.y])
    order = np.argsort(everything[:, 0])
    np.testing.assert_array_equal(everything[order, 0], np.arange(20) * 0.5)  # not rescaled
    np.testing.assert_array_equal(everything[order, 1], -np.arange(20))
    np.testing.assert_array_equal(labels[order], np.arange(20) % 3)
    assert load_csv(path, dtype="float32").train.X.dtype == np.float32


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("a,b\n1,2\n", r"line 1: no 'label' or 'target' column among 'a', 'b'; name the label column"),
        ("label,label\n1,2\n", "line 1: 2 columns are named 'label'"),
        ("label\n1\n", "no feature columns"),
        ("x,label\n", "no data rows"),
        ("x,y,label\n1,2,0\n1,,0\n", r"line 3, column 2 \('y'\): '' is not a number"),
        ("x,label\n1,0\n1,0,3\n", "line 3: 3 fields, expected 2"),
        ("x,label\n1,0\n\n1\n", "line 4: 1 fields"),
        ("x,label\n1,0\nnan,1\n", r"line 3, column 1 \('x'\): nan is not a finite"),
        ("x,label\n1,0\n1,inf\n", "line 3, column 'label' = inf is not a whole number"),
        ("x,label\n1,0\n1," + "z" * 257 + "\n", "line 3, column 'label': expected a label of 1 to 256"),
        ("x,label\n1,1.5\n", r"line 2, column 'label' = .*1\.5.* is not a whole number"),
        ('x,label\n"1,0\n', "line 2: 1 fields"),
    ],
)
def test_load_csv_bad(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=match) as info:
        load_csv(path)
    assert "bad.csv" in str(info.value)


def test_load_csv_not_utf8_and_missing(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"x,label\n\xff\xfe,1\n")
    with pytest.raises(DataFormatError, match="UTF-8"):
        load_csv(path)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_csv(tmp_path / "absent.csv")
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path)


def test_csv_whole_number_labels_and_square_features(tmp_path):
    path = tmp_path / "sq.csv"
    path.write_text("a,b,c,d,label\n" + "0,1,2,3,1.0\n" * 7 + "0,1,2,3,4e0\n", encoding="utf-8")
    data = load_csv(path)
    assert data.image_shape == (2, 2) and data.n_classes == 5 and data.classes is None


def _valid_csv() -> list[bytes]:
    return [
        b"x,label,y\n1,0,2\n3.5,1,-4\n5e1,2,6\n7,0,8\n",
        b"\xef\xbb\xbflabel,a\n0,1\n1,2\n\n2,3\n",
        b'"x","label"\n"1","1"\n"2","0"\n',
    ]



@FUZZ
@given(
    data=st.one_of(
        mutated(_valid_csv()),
        csv_texts.map(lambda text: ("x,label\n" + text).encode()),
        csv_texts.map(str.encode),
        st.binary(max_size=80),
    )
)
def test_fuzz_load_csv(tmp_path, data):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        with no_hang(10):
            dataset = load_csv(path)
    except DataFormatError:
        return
    rows = np.concatenate([dataset.train.X, dataset.validation.X, dataset.test.X])
    labels = np.concatenate([dataset.train.y, dataset.validation.y, dataset.test.y])
    assert np.all(np.isfinite(rows)) and labels.dtype == np.int64 and labels.min() >= 0
    assert dataset.n_classes == labels.max() + 1


def _valid_npz() -> list[bytes]:
    seeds = []
    X, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 1, 0])
    for save in (np.savez, np.savez_compressed):
        buffer = io.BytesIO()
        save(buffer, X=X, y=y)
        seeds.append(buffer.getvalue())
    return seeds


zip_archives = st.dictionaries(
    st.sampled_from(["X.npy", "y.npy", "X", "y", "z.npy"]),
    st.one_of(npy_headers, st.binary(max_size=40)),
    max_size=3,
).map(zip_with)


@FUZZ
@given(data=st.one_of(mutated(_valid_npz()), zip_archives, st.binary(max_size=80)))
def test_fuzz_load_npz(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        with no_hang(10):
            dataset = load_npz(path)
    except DataFormatError:
        return
    assert dataset.train.X.ndim == 2 and np.all(np.isfinite(dataset.train.X))
    assert dataset.train.y.dtype == np.int64


# ---------------------------------------------------------------------------------------------
# any labels: integers or strings become class indices, the labels kept as Dataset.classes


def _rows_and_labels(data):
    X = np.concatenate([data.train.X, data.validation.X, data.test.X])
    y = np.concatenate([data.train.y, data.validation.y, data.test.y])
    return X, y


def test_npz_string_and_sparse_labels_become_classes(tmp_path):
    X = np.arange(24.0).reshape(12, 2)
    names = np.array(["cat", "dog", "cat", "emu", "dog", "cat"] * 2)
    np.savez(tmp_path / "s.npz", X=X, y=names)
    data = load_npz(tmp_path / "s.npz")
    assert data.classes == ("cat", "dog", "emu") and data.n_classes == 3
    rows, y = _rows_and_labels(data)
    assert y.dtype == np.int64
    by_row = dict(zip(rows[:, 0].tolist(), np.array(data.classes)[y].tolist(), strict=True))
    assert by_row == dict(zip(X[:, 0].tolist(), names.tolist(), strict=True))
    np.savez(tmp_path / "n.npz", X=X, y=np.array([-1, 7] * 6))
    data = load_npz(tmp_path / "n.npz")
    assert data.classes == (-1, 7) and data.n_classes == 2
    rows, y = _rows_and_labels(data)
    assert set(y.tolist()) == {0, 1}
    assert np.array_equal(np.array(data.classes)[y], np.where(rows[:, 0] % 4 == 0, -1, 7))
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(12) % 3 + 1)  # dense integers: kept as labels
    data = load_npz(tmp_path / "d.npz")
    assert data.classes is None and data.n_classes == 4
    assert np.array_equal(_rows_and_labels(data)[1], _rows_and_labels(data)[0][:, 0] // 2 % 3 + 1)


def test_csv_text_labels_in_any_column(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("label,a,b\n" + "".join(f"{name},{i},{-i}\n" for i, name in
                                            enumerate(["dog", "cat", " dog ", "3"] * 3)))
    data = load_csv(path)
    assert data.classes == ("3", "cat", "dog") and data.n_classes == 3
    rows, y = _rows_and_labels(data)
    assert np.array_equal(rows[:, 1], -rows[:, 0])  # the label column is dropped, not a feature
    expected = np.array(["dog", "cat", "dog", "3"] * 3)[rows[:, 0].astype(int)]
    assert np.array_equal(np.array(data.classes)[y], expected)
    bad = tmp_path / "bad.csv"
    bad.write_text("label,a,b\ncat,1,2\ndog,x,3\n")
    with pytest.raises(DataFormatError, match=r"line 3, column 2 \('a'\): 'x' is not a number"):
        load_csv(bad)


def test_more_distinct_labels_than_classes_allowed():
    from deltaprop.datasets.base import indexed_labels

    with pytest.raises(DataFormatError, match=rf"y holds {MAX_CLASSES + 1} distinct labels .*at "
                                              rf"most {MAX_CLASSES} classes"):
        indexed_labels(np.arange(MAX_CLASSES + 1), np.zeros(3, np.int64), "y")


def test_bundled_digits_are_scikit_learns_digits():
    """load_digits reads scikit-learn's file without importing sklearn.datasets: same pixels, labels."""
    from sklearn.datasets import load_digits as sklearn_load_digits

    from deltaprop.datasets.tables import _bundled_digits

    bunch = sklearn_load_digits()
    table = _bundled_digits()
    np.testing.assert_array_equal(table[:, :-1], bunch.data)
    np.testing.assert_array_equal(table[:, -1], bunch.target)


# ---------------------------------------------------------------------------------------------
# tables by column name: any delimiter, the label column, the features, held-out files, read whole


def _write(path, header, rows, delimiter=","):
    path.write_text("\n".join(delimiter.join(map(str, cells)) for cells in [header, *rows]) + "\n")
    return path


def _pets(path, delimiter=","):
    """20 rows: id, two numeric features, a text column, the label 'kind' (cat/dog)."""
    rows = [[f"p{i}", i, -2 * i, "red" if i % 2 else "blue", "cat" if i % 3 else "dog"] for i in range(20)]
    return _write(path, ["id", "a", "b", "colour", "kind"], rows, delimiter)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_found(tmp_path, delimiter):
    path = _write(tmp_path / "t.csv", ["x", "y", "label"],
                  [[i * 0.5, -i, i % 2] for i in range(10)], delimiter)
    data = load_csv(path)
    X, y = _rows_and_labels(data)
    assert data.features == ("x", "y") and data.label_column == "label"
    order = np.argsort(X[:, 0])
    np.testing.assert_array_equal(X[order], np.column_stack([np.arange(10) * 0.5, -np.arange(10)]))
    np.testing.assert_array_equal(y[order], np.arange(10) % 2)


def test_target_is_the_label_column_when_there_is_no_label(tmp_path):
    path = _write(tmp_path / "t.tsv", ["f1", "target", "f2"], [[i, i % 3, 2 * i] for i in range(12)], "\t")
    data = load_table(path)
    assert data.label_column == "target" and data.features == ("f1", "f2") and data.n_classes == 3
    X, y = _rows_and_labels(data)
    np.testing.assert_array_equal(y, X[:, 0].astype(int) % 3)
    both = _write(tmp_path / "b.csv", ["target", "Label", "f"], [[0, i % 2, i] for i in range(6)])
    assert load_csv(both).label_column == "Label"  # 'label' first, in any case


def test_columns_chosen_by_name(tmp_path):
    path = _pets(tmp_path / "pets.csv", ";")
    data = load_csv(path, label_column="kind", features=["b", "a"])
    assert data.features == ("b", "a") and data.label_column == "kind" and data.classes == ("cat", "dog")
    X, y = _rows_and_labels(data)
    np.testing.assert_array_equal(X[:, 0], -2 * X[:, 1])  # in the order named
    np.testing.assert_array_equal(np.array(data.classes)[y], np.where(X[:, 1] % 3, "cat", "dog"))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"label_column": "kind"}, r"line 2, column 1 \('id'\): 'p0' is not a number; feature columns "
                                   r"must hold numbers \(text columns need one-hot encoding, not supported"),
        ({"label_column": "kind", "features": ["a", "colour"]}, r"column 4 \('colour'\): 'blue' is not a "
                                                                r"number; .*one-hot encoding"),
        ({}, r"no 'label' or 'target' column among 'id', 'a', 'b', 'colour', 'kind'"),
        ({"label_column": "species"}, r"line 1: no column named 'species'; the columns are 'id', 'a'"),
        ({"label_column": "kind", "features": ["a", "z"]}, "no column named 'z'"),
        ({"label_column": "kind", "features": ["a", "kind"]},
         "column 'kind' is the label column, not a feature"),
        ({"label_column": "kind", "features": ["a", "A"]}, r"the features name a column twice"),
    ],
)
def test_column_choices_refused(tmp_path, options, match):
    path = _pets(tmp_path / "pets.csv")
    with pytest.raises(DataFormatError, match=match):
        load_csv(path, **options)


def test_a_column_name_in_another_case_is_found_unless_ambiguous(tmp_path):
    path = _write(tmp_path / "t.csv", ["Size", "size2", "Kind"], [[i, i, i % 2] for i in range(6)])
    assert load_csv(path, label_column="kind", features=["SIZE"]).features == ("Size",)
    twice = _write(tmp_path / "u.csv", ["a", "A", "label"], [[1, 2, 0]] * 4)
    assert load_csv(twice, features=["A"]).features == ("A",)  # spelt exactly so: that one
    with pytest.raises(DataFormatError, match="2 columns are named 'a'"):  # 'a' and 'A' in any case
        load_csv(_write(tmp_path / "v.csv", ["A", "A", "label"], [[1, 2, 0]] * 4), features=["a"])


def test_held_out_files_are_used_whole(tmp_path):
    train = _write(tmp_path / "train.csv", ["a", "b", "kind"],
                   [[i, -i, "cat" if i % 2 else "dog"] for i in range(40)])
    validation = _write(tmp_path / "validation.csv", ["kind", "b", "extra", "a"],  # other order
                        [["dog", -i, "x", i] for i in range(5)], ";")
    test = _write(tmp_path / "test.csv", ["a", "b", "kind"], [[100 + i, 0, "cat"] for i in range(7)])
    both = load_table(train, label_column="kind", validation_data=validation, test_data=test)
    assert both.train.X.shape == (40, 2) and both.validation.X.shape == (5, 2) and both.test.X.shape == (7, 2)
    np.testing.assert_array_equal(both.validation.X, np.column_stack([np.arange(5), -np.arange(5)]))
    assert both.classes == ("cat", "dog")
    assert both.validation.y.tolist() == [1] * 5 and both.test.y.tolist() == [0] * 7
    only_test = load_table(train, label_column="kind", test_data=test)
    assert only_test.train.X.shape == (34, 2) and only_test.validation.X.shape == (6, 2)
    assert only_test.test.X.shape == (7, 2)
    # the training file is split the same way as without held-out files, but the part they replace
    assert load_table(train, label_column="kind").test.X.shape == (6, 2)


def test_held_out_labels_must_be_among_the_training_classes(tmp_path):
    train = _write(tmp_path / "train.csv", ["a", "label"], [[i, i % 2] for i in range(20)])
    other = _write(tmp_path / "other.csv", ["a", "label"], [[0, 0], [1, 2]])
    with pytest.raises(DataFormatError, match=r"other.csv, line 3, column 'label' = 2; expected class "
                                              r"labels in \[0, 1\]"):
        load_table(train, test_data=other)
    text = _write(tmp_path / "text.csv", ["a", "label"], [[0, "cat"]])
    with pytest.raises(DataFormatError, match=r"text.csv, line 2, column 'label' = 'cat' is text, but the "
                                              r"classes are the numbers 0 to 1"):
        load_table(train, validation_data=text)
    narrow = _write(tmp_path / "narrow.csv", ["b", "label"], [[0, 0]])
    with pytest.raises(DataFormatError, match=r"narrow.csv, line 1: no column named 'a'"):
        load_table(train, validation_data=narrow)
    with pytest.raises(ValueError, match=r"validation_data: only for a table file .*not for 'digits'"):
        load_dataset("digits", validation_data=narrow)


def test_read_table_whole_with_ids_and_optional_labels(tmp_path):
    path = _pets(tmp_path / "pets.csv", "|")
    table = read_table(path, features=["a", "b"], label_column="kind", id_column="id")
    assert table.X.shape == (20, 2) and table.X.dtype == np.float64
    np.testing.assert_array_equal(table.X[:, 0], np.arange(20))  # every row, in the file's order
    assert table.ids == [f"p{i}" for i in range(20)] and table.features == ("a", "b")
    assert table.labels.values().tolist() == ["cat" if i % 3 else "dog" for i in range(20)]
    unlabelled = read_table(path, features=["a", "b"], label_column="species")
    assert unlabelled.labels is None and unlabelled.label_column is None
    with pytest.raises(DataFormatError, match="no column named 'species'"):
        read_table(path, features=["a", "b"], label_column="species", need_labels=True)
    with pytest.raises(DataFormatError, match=r"2 feature columns \('a', 'b'\), but 3 are expected"):
        read_table(path, features=["a", "b"], n_features=3)
    numbers = _write(tmp_path / "n.csv", ["x", "label"], [[1, "2"], [2, "0.0"], [3, "1e0"]])
    assert read_table(numbers).labels.values().tolist() == [2.0, 0.0, 1.0]


def test_read_table_of_an_npz(tmp_path):
    np.savez(tmp_path / "t.npz", X=np.arange(6).reshape(3, 2), y=np.array(["a", "b", "a"]))
    table = read_table(tmp_path / "t.npz", features=["anything", "named"])  # two columns: as many
    assert table.X.dtype == np.float64 and table.features is None
    assert table.labels.values().tolist() == ["a", "b", "a"]
    with pytest.raises(DataFormatError, match="X has 2 feature columns, but 3 are expected"):
        read_table(tmp_path / "t.npz", n_features=3)
    with pytest.raises(ValueError, match="no id column 'id'"):
        read_table(tmp_path / "t.npz", id_column="id")
    with pytest.raises(ValueError, match="no named columns to choose"):
        load_table(tmp_path / "t.npz", label_column="y")
    with pytest.raises(ValueError, match=r"t.txt: not a table file; expected .csv or .tsv"):
        read_table(_write(tmp_path / "t.txt", ["a"], []))


def test_a_column_name_beyond_its_limit_is_refused_only_when_chosen(tmp_path):
    long = "n" * 300
    path = _write(tmp_path / "t.csv", ["a", long, "label"], [[1, 2, 0], [2, 3, 1]])
    assert load_csv(path, features=["a"]).features == ("a",)
    with pytest.raises(DataFormatError, match="column 2 has a name of 300 characters; chosen columns"):
        load_csv(path)
    indexed = _write(tmp_path / "pandas.csv", ["", "a", "label"], [[0, 1, 0], [1, 2, 1]])  # to_csv's index
    with pytest.raises(DataFormatError, match=r"line 1: column 1 has no name \(a row index"):
        load_csv(indexed)
    assert load_csv(indexed, features=["a"]).train.X.shape[1] == 1


@FUZZ
@given(text=csv_texts, delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_fuzz_table_columns(tmp_path, text, delimiter):
    """Any text after a header, any delimiter: a data set or one DataFormatError, never a hang."""
    path = tmp_path / "fuzz.csv"
    path.write_text(delimiter.join(["a", "label", "b"]) + "\n" + text.replace(",", delimiter))
    try:
        with no_hang(10):
            data = load_csv(path, features=["b", "a"])
    except DataFormatError:
        return
    assert data.features == ("b", "a") and data.train.X.shape[1] == 2


def test_the_delimiter_is_found_from_a_bounded_start(tmp_path):
    """csv.Sniffer's quote search is quadratic in its sample: a file of 200,000 ',"' is sniffed
    from its first 4096 characters only, and refused in well under a second's work."""
    path = tmp_path / "quotes.csv"
    path.write_text(',"' * 100_000 + "\n1,2\n")
    with no_hang(5), pytest.raises(DataFormatError, match="quotes.csv"):
        load_csv(path)
