"""Tests of deltaprop.datasets.parquet: Parquet tables, their footer checked before any column is read."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets_support import FUZZ, no_hang
from hypothesis import given
from hypothesis import strategies as st

from deltaprop.datasets import ParquetUnavailable, base, load_dataset, load_parquet, parquet, read_table
from deltaprop.errors import DataFormatError


def _table(rows: int = 30) -> pa.Table:
    i = np.arange(rows)
    return pa.table({
        "id": [f"r{k}" for k in i],
        "width": i * 0.5,
        "count": i.astype(np.int32),
        "flag": i % 2 == 0,
        "colour": ["red" if k % 2 else "blue" for k in i],
        "species": pa.array(["ant" if k % 3 else "bee" for k in i]).dictionary_encode(),
        "grade": (i % 4 + 10).astype(np.int64),
    })


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "t.parquet"
    pq.write_table(_table(), file, row_group_size=7)  # several row groups
    return file


def test_load_parquet_chooses_columns_by_name(path):
    data = load_parquet(path, label_column="species", features=["count", "width", "flag"], seed=3)
    assert data.name == "t" and data.classes == ("ant", "bee") and data.n_classes == 2
    assert data.features == ("count", "width", "flag") and data.label_column == "species"
    assert data.train.X.shape == (22, 3) and data.validation.X.shape == (4, 3) and data.test.X.shape == (4, 3)
    X = np.concatenate([data.train.X, data.validation.X, data.test.X])
    y = np.concatenate([data.train.y, data.validation.y, data.test.y])
    np.testing.assert_array_equal(X[:, 1], X[:, 0] * 0.5)
    np.testing.assert_array_equal(X[:, 2], (X[:, 0] % 2 == 0).astype(float))  # booleans are 0 and 1
    np.testing.assert_array_equal(np.array(data.classes)[y], np.where(X[:, 0] % 3, "ant", "bee"))
    numbered = load_dataset(str(path), label_column="grade", features=["width"], dtype="float32")
    assert numbered.classes is None and numbered.n_classes == 14 and numbered.train.X.dtype == np.float32


def test_read_table_of_a_parquet_file_whole(path):
    table = read_table(path, features=["width"], label_column="species", id_column="id")
    assert table.X.shape == (30, 1) and table.ids[:3] == ["r0", "r1", "r2"]
    np.testing.assert_array_equal(table.X[:, 0], np.arange(30) * 0.5)
    assert table.labels.values().tolist() == ["ant" if k % 3 else "bee" for k in range(30)]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"label_column": "species"}, r"column 'id' holds (large_)?string values; feature columns must hold "
                                      r"numbers \(text columns need one-hot encoding, not supported yet"),
        ({"label_column": "species", "features": ["width", "colour"]}, "column 'colour' holds"),
        ({}, r"no 'label' or 'target' column among 'id', 'width', 'count'"),
        ({"label_column": "flag", "features": ["width"]}, "the label column 'flag' holds bool values"),
        ({"label_column": "species", "features": ["nope"]}, "no column named 'nope'"),
    ],
)
def test_parquet_column_choices_refused(path, options, match):
    with pytest.raises(DataFormatError, match=match):
        load_parquet(path, **options)


def test_nulls_and_non_finite_values_are_named(tmp_path):
    file = tmp_path / "n.parquet"
    pq.write_table(pa.table({"x": [1.0, None, 3.0], "label": [0, 1, 0]}), file)
    with pytest.raises(DataFormatError, match=r"n.parquet, row 1, column 'x': a missing value \(null\)"):
        load_parquet(file)
    pq.write_table(pa.table({"x": [1.0, 2.0, np.inf], "label": ["a", None, "b"]}), file)
    with pytest.raises(DataFormatError, match=r"row 2, column 'x': inf is not a finite number"):
        load_parquet(file)
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "label": ["a", None, "b"]}), file)
    with pytest.raises(DataFormatError, match=r"row 1, column 'label': a missing value"):
        load_parquet(file)
    pq.write_table(pa.table({"x": [1.0, 2.0], "label": ["a", ""]}), file)
    with pytest.raises(DataFormatError, match="expected labels of 1 to 256 characters, found some of 0"):
        load_parquet(file)
    pq.write_table(pa.table({"x": [1.0, 2.0], "label": [0.5, 1.0]}), file)
    with pytest.raises(DataFormatError, match=r"row 0, column 'label' = 0.5 is not a whole number"):
        load_parquet(file)


def test_files_beyond_the_limits_are_refused_before_any_column_is_read(path, monkeypatch):
    monkeypatch.setattr(parquet, "MAX_PARQUET_BYTES", 100)
    with pytest.raises(DataFormatError, match=r"t.parquet: the file is .* more than the limit of 100 bytes"):
        load_parquet(path, label_column="species", features=["width"])
    monkeypatch.undo()
    monkeypatch.setattr(parquet, "MAX_PARQUET_FOOTER_BYTES", 64)
    with pytest.raises(DataFormatError, match=r"its footer claims .* or the limit of 64 bytes"):
        load_parquet(path, label_column="species", features=["width"])
    monkeypatch.undo()
    monkeypatch.setattr(base, "MAX_DECODED_BYTES", 1000)
    monkeypatch.setattr(pq.ParquetFile, "read", lambda *args, **kwargs: pytest.fail("columns were read"))
    with pytest.raises(DataFormatError, match=r"30 rows \(.* uncompressed\) as 1 float64 features would "
                                              r"need .* more than the limit"):
        load_parquet(path, label_column="species", features=["width"])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a Parquet file"),
        (b"PAR1 hello", "not a Parquet file"),
        (b"PAR1" + b"\x00" * 20 + b"\xff\xff\xff\x7fPAR1", "its footer claims"),
        (b"PAR1" + b"\x00" * 20 + b"\x10\x00\x00\x00PAR1", "not a readable Parquet file"),
    ],
)
def test_files_that_are_no_parquet_are_refused(tmp_path, content, match):
    file = tmp_path / "bad.parquet"
    file.write_bytes(content)
    with pytest.raises(DataFormatError, match=match):
        load_parquet(file)


def test_without_pyarrow_one_line_names_the_extra(path, monkeypatch):
    for name in ("pyarrow", "pyarrow.compute", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with pytest.raises(ParquetUnavailable, match=r"needs pyarrow: pip install 'deltaprop\[parquet\]'"):
        load_parquet(path)


def _valid_bytes() -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]}), sink)
    return sink.getvalue().to_pybytes()


@FUZZ
@given(data=st.binary(min_size=0, max_size=64), at=st.integers(0, 10**6), cut=st.booleans())
def test_fuzz_damaged_parquet(tmp_path, data, at, cut):
    """A damaged file gives a data set or one DataFormatError, never another error or a hang."""
    valid = _valid_bytes()
    at %= len(valid)
    damaged = valid[:at] + data if cut else valid[:at] + data + valid[at + len(data):]
    file = tmp_path / "fuzz.parquet"
    file.write_bytes(damaged)
    try:
        with no_hang(10):
            data_set = load_parquet(file)
    except DataFormatError:
        return
    assert np.all(np.isfinite(data_set.train.X))


def test_a_pandas_index_is_no_feature(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "label": [0, 1, 0, 1]}, index=[10, 20, 30, 40])
    frame.to_parquet(tmp_path / "p.parquet")  # the index is stored as a column __index_level_0__
    assert "__index_level_0__" in pq.read_schema(tmp_path / "p.parquet").names
    assert load_parquet(tmp_path / "p.parquet").features == ("x",)
