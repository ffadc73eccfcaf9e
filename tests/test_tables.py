"""Reading CSV tables strictly: headers, errors that name the line and column, no row
ever dropped; what a target holds; class labels; stratified splits."""

import numpy as np
import pytest

from chainrule.cli._tables import (
    MAX_GUESSED_CLASSES,
    ClassLabels,
    TableError,
    guess_task,
    header_names,
    read_table,
    stratified_split,
    target_numbers,
)


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_header_and_text_labels(tmp_path):
    path = write(tmp_path, "length,width,species\n1.4,0.2,setosa\n4.7,1.4,versicolor\n")
    table = read_table(path)
    np.testing.assert_array_equal(table.X, [[1.4, 0.2], [4.7, 1.4]])
    assert table.target.tolist() == ["setosa", "versicolor"]
    assert table.feature_names == ["length", "width"] and table.target_name == "species"
    assert table.lines.tolist() == [2, 3]
    assert header_names(path) == ["length", "width", "species"]


def test_no_header_when_the_first_line_is_numbers(tmp_path):
    table = read_table(write(tmp_path, "1,2,0\n3,4,1\n"))
    assert table.feature_names is None and table.X.shape == (2, 2)
    assert table.target.tolist() == ["0", "1"]
    # Numbers with a text label on the first line: the first data row, not a header.
    table = read_table(write(tmp_path, "5.1,3.5,setosa\n6.2,2.9,versicolor\n"))
    assert table.feature_names is None and len(table.X) == 2
    assert header_names(tmp_path / "t.csv") is None


def test_numbered_columns_with_a_named_target_are_a_header(tmp_path):
    table = read_table(write(tmp_path, "0,1,2,label\n0.5,1,2,1\n0.1,3,4,0\n"))
    assert table.feature_names == ["0", "1", "2"] and table.target_name == "label"
    assert len(table.X) == 2


def test_text_after_the_first_line_is_an_error_naming_line_and_column(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,1\nc,d,y\n5,6,0\n")
    with pytest.raises(TableError, match=r"line 4, column 1 \('a'\): 'c' is not a number"):
        read_table(path)


@pytest.mark.parametrize("text, message", [
    pytest.param("a,b,y\n1,2,0\n1,2\n", "line 3: 2 fields; the first line has 3",
                 id="short-row"),
    pytest.param("a,b,y\n1,2,0\n1,2,0,9\n", "line 3: 4 fields", id="long-row"),
    pytest.param("a,b,y\n1,,0\n", r"line 2, column 2 \('b'\): empty", id="empty-field"),
    pytest.param("a,b,y\n1,nan,0\n", r"line 2, column 2 \('b'\): 'nan' is not a finite",
                 id="nan"),
    pytest.param("a,b,y\n1,-inf,0\n", "'-inf' is not a finite", id="infinity"),
    pytest.param("a,b,y\n1,2,\n", r"line 2, column 3 \('y'\): the target is empty",
                 id="empty-target"),
    pytest.param("1,2,0\n\n\n3,x,1\n", "line 4, column 2: 'x' is not a number",
                 id="blank-lines-counted"),
    pytest.param('a,b,y\n1,2,"0\n"\n3,?,1\n', r"line 4, column 2 \('b'\): '\?'",
                 id="quoted-newline-counted"),
    pytest.param("a,1,y\n1,2,0\n", r"line 1, column 1: 'a' is not a number, and the line is "
                 "not a header", id="half-a-header"),
    pytest.param("", "holds no rows", id="empty-file"),
    pytest.param("a,b,y\n", "a header line and no data rows", id="header-only"),
    pytest.param("y\n1\n2\n", "one column", id="one-column"),
    pytest.param("1,2,x\n3,4\n", "line 2: 2 fields", id="labels-first-line-then-short-row"),
])
def test_every_problem_names_the_real_line_and_column(tmp_path, text, message):
    with pytest.raises(TableError, match=message):
        read_table(write(tmp_path, text))


def test_a_malformed_row_is_never_dropped(tmp_path):
    """NumPy's genfromtxt(invalid_raise=False) skips a row of the wrong length with a
    warning; a table reader that did so would train on other data than the file's."""
    path = write(tmp_path, "\n".join(["1,2,0"] * 5 + ["1,2"] + ["3,4,1"] * 5) + "\n")
    with pytest.raises(TableError, match="line 6"):
        read_table(path)
    table = read_table(write(tmp_path, "\n".join(["1,2,0"] * 5 + ["", "3,4,1"]) + "\n"))
    assert len(table.X) == 6 and table.lines.tolist() == [1, 2, 3, 4, 5, 7]


def test_the_target_column_by_name_or_number_and_files_without_one(tmp_path):
    path = write(tmp_path, "y,a,b\ncat,1,2\ndog,3,4\n")
    by_name = read_table(path, target="y")
    by_number = read_table(path, target=1)
    for table in (by_name, by_number):
        np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])
        assert table.target.tolist() == ["cat", "dog"] and table.feature_names == ["a", "b"]
    with pytest.raises(TableError, match="no column named 'z'"):
        read_table(path, target="z")
    with pytest.raises(TableError, match="target column 4 does not exist; the file has 3"):
        read_table(path, target=4)
    features = read_table(write(tmp_path, "\ufeffa,b\n1,2\n3,4\n"), has_target=False)
    assert features.target is None and features.feature_names == ["a", "b"]  # BOM removed
    np.testing.assert_array_equal(features.X, [[1, 2], [3, 4]])


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(TableError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(TableError, match="not a UTF-8 text file"):
        read_table(tmp_path / "bin.csv")


@pytest.mark.parametrize("target, task, why", [
    (["setosa", "virginica", "setosa"], "classification", "text labels"),
    (["0", "1", "2", "1"], "classification", "3 distinct whole numbers"),
    (["1.0", "2.0", "1.0"], "classification", "2 distinct whole numbers"),
    (["0.5", "1.25", "3"], "regression", "not all whole"),
    ([str(v) for v in range(100_000)], "regression", "100000 distinct whole numbers"),
    ([str(v) for v in range(MAX_GUESSED_CLASSES + 1)], "regression", "more than 20"),
    ([str(v) for v in range(MAX_GUESSED_CLASSES)], "classification", "20 distinct"),
])
def test_guess_task(target, task, why):
    guessed, reason = guess_task(np.array(target))
    assert guessed == task and why in reason


def test_class_labels_keep_their_values_and_order():
    numbers = ClassLabels.from_target(np.array(["10", "2", "-1", "2.0", "10"]))
    assert numbers.classes == [-1, 2, 10] and all(type(c) is int for c in numbers.classes)
    np.testing.assert_array_equal(numbers.encode(np.array(["2", "10", "-1.0"])), [1, 2, 0])
    assert numbers.decode([2, 0, 1]) == [10, -1, 2]
    text = ClassLabels.from_target(np.array(["virginica", "setosa", "versicolor", "setosa"]))
    assert text.classes == ["setosa", "versicolor", "virginica"] and len(text) == 3
    np.testing.assert_array_equal(text.encode(np.array(["virginica", "setosa"])), [2, 0])
    with pytest.raises(ValueError, match=r"label 'rose' \(row 2\) is not one of"):
        text.encode(np.array(["setosa", "rose"]))
    halves = ClassLabels.from_target(np.array(["0.5", "1.5"]))
    assert halves.classes == [0.5, 1.5]


def test_target_numbers_name_the_line_of_a_label(tmp_path):
    table = read_table(write(tmp_path, "a,y\n1,3.5\n2,4\n3,many\n"))
    with pytest.raises(TableError, match=r"line 4, column 2 \('y'\): 'many' is not a number"):
        target_numbers(table.target, table)
    np.testing.assert_array_equal(target_numbers(np.array(["1", "2.5"])), [1.0, 2.5])


def test_stratified_split_holds_out_each_class_in_proportion():
    classes = np.repeat([0, 1, 2], [40, 20, 8])
    train, test = stratified_split(classes, len(classes), 0.25, np.random.default_rng(0))
    assert np.bincount(classes[test]).tolist() == [10, 5, 2]
    assert sorted([*train, *test]) == list(range(len(classes)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    again = stratified_split(classes, len(classes), 0.25, np.random.default_rng(0))
    np.testing.assert_array_equal(again[1], test)
    other = stratified_split(classes, len(classes), 0.25, np.random.default_rng(1))
    assert not np.array_equal(other[1], test)
    train, test = stratified_split(None, 10, 0.3, np.random.default_rng(0))
    assert len(test) == 3 and len(train) == 7


@pytest.mark.parametrize("text, target, column", [
    pytest.param("y,a,b\n3,1,2\nmany,3,4\n", "y", 1, id="first"),
    pytest.param("a,y,b\n1,3,2\n3,many,4\n", "y", 2, id="middle"),
    pytest.param("a,b,y\n1,2,3\n3,4,many\n", None, 3, id="last"),
    pytest.param("1,3,2\n0,3,2\n3,many,4\n", 2, 2, id="no-header"),
])
def test_the_target_column_is_where_it_is(tmp_path, text, target, column):
    """The target's column number is its own, wherever it stands (it was the last one's)."""
    table = read_table(write(tmp_path, text), target=target)
    assert table.target_column == column
    with pytest.raises(TableError, match=rf"line 3, column {column}\b.*'many' is not a number"):
        target_numbers(table.target, table)


def test_the_digest_is_of_the_bytes_read(tmp_path):
    import hashlib

    path = write(tmp_path, "\ufeffa,y\n1,0\n2,1\n")
    assert read_table(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_empty_target_is_read_only_when_asked(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,\n3,4,\n")
    with pytest.raises(TableError, match="the target is empty"):
        read_table(path)
    table = read_table(path, empty_target=True)
    assert table.target.tolist() == ["", ""] and table.X.tolist() == [[1, 2], [3, 4]]
