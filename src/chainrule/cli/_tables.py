"""Tables: reading a CSV file of features and a target, strictly, and making sense of it.

``read_table(path)`` returns the features as a float64 array, the target column
as text, and the column names. It reads every line or fails naming the line and
the column: a header is recognised on the first line only, and only when it
is not a row of numbers; an empty or non-numeric field, a row of the wrong
length, NaN or infinity is an error, never a row quietly dropped (blank lines
are not rows, and are skipped).

``guess_task(target)`` says whether a target holds classes or quantities, and
why; ``ClassLabels`` maps class labels (``"setosa"``, ``-1``, ``7``) to the
indices 0…k−1 a softmax needs, and back; ``stratified_split`` holds out a
fraction of the rows of each class.

Labels that are numbers compare as numbers, exactly: ``1``, ``1.0`` and ``01`` are
one class, and whole numbers stay whole at any size (``2**53 + 1`` is not ``2**53``,
as it would be as a float64).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

#: a whole-number target with more distinct values than this is a quantity (a price,
#: a count), not a class label; text labels are always classes
MAX_GUESSED_CLASSES = 20

__all__ = ["MAX_GUESSED_CLASSES", "ClassLabels", "Table", "TableError", "first_line",
           "guess_task", "header_names", "read_table", "stratified_split", "target_numbers"]


class TableError(ValueError):
    """A CSV file that cannot be read as a table; the message names the line and column."""


@dataclass
class Table:
    """A table read from a CSV file.

    Attributes
    ----------
    X : float64 array (n_rows, n_features)
    target : array of str (n_rows,), or None when the file has no target column
    feature_names : list of str, or None when the file has no header
    target_name : str or None
    lines : int array (n_rows,): the line of the file each row comes from
    path : Path
    target_column : int or None
        The target's column number, counted from 1 as the error messages count.
    sha256 : str
        The SHA-256 of the very bytes that were read, so a file changed since is noticed.
    """

    X: np.ndarray
    target: np.ndarray | None
    feature_names: list[str] | None
    target_name: str | None
    lines: np.ndarray
    path: Path
    target_column: int | None = None
    sha256: str = ""


def read_table(path, *, has_target: bool = True, target=None, delimiter: str = ",",
               empty_target: bool = False) -> Table:
    """Read a CSV file of numeric features and (by default) a target in the last column.

    Parameters
    ----------
    path : str or Path
    has_target : bool
        False for a file of features only (what ``predict`` reads).
    target : str or int, optional
        The target column, by header name or by number (1 = the first column);
        the last column if not given. The target may hold text (class labels).
    delimiter : str
    empty_target : bool
        True: an empty target field is read as ``""`` instead of refused (``predict``
        reads a template whose target column the user has not filled in).

    Raises
    ------
    TableError (a ValueError) naming the line and column of the first problem.
    """
    path = Path(path)
    rows, digest = _rows(path, delimiter)
    if not rows:
        raise TableError(f"{path}: the file holds no rows")
    width = len(rows[0][1])
    header = _header(path, rows, has_target, target)
    if header is not None:
        rows = rows[1:]
    if not rows:
        raise TableError(f"{path}: the file has a header line and no data rows")
    column = _target_index(path, header, width, has_target, target, delimiter)
    features = [j for j in range(width) if j != column]
    X = np.empty((len(rows), len(features)), dtype=np.float64)
    for i, (line, fields) in enumerate(rows):
        if len(fields) != width:
            raise TableError(f"{path}, line {line}: {len(fields)} fields; the first line "
                             f"has {width}")
        for k, j in enumerate(features):
            X[i, k] = _number(path, line, j, fields[j], header)
    values = None
    if column is not None:
        values = np.array([fields[column].strip() for _, fields in rows], dtype=str)
        empty = np.flatnonzero(values == "")
        if len(empty) and not empty_target:
            raise TableError(f"{_where(path, rows[empty[0]][0], column, header)}: the target "
                             "is empty")
    names = None if header is None else [header[j] for j in features]
    return Table(X, values, names, None if header is None or column is None else header[column],
                 np.array([line for line, _ in rows]), path,
                 None if column is None else column + 1, digest)


def header_names(path, *, delimiter: str = ",") -> list[str] | None:
    """The names on the first line of a CSV file if it is a header (no numbers among
    them), else None. Two columns of the same name are an error."""
    rows, _ = _rows(Path(path), delimiter)
    if not rows or any(_is_number(field) for field in rows[0][1]):
        return None
    return _names(Path(path), *rows[0])


def first_line(path, *, delimiter: str = ",") -> list[str]:
    """The fields of the first non-blank line, stripped: a header's names or a data row."""
    rows, _ = _rows(Path(path), delimiter)
    if not rows:
        raise TableError(f"{path}: the file holds no rows")
    return [field.strip() for field in rows[0][1]]


def _rows(path: Path, delimiter: str) -> tuple[list[tuple[int, list[str]]], str]:
    """(line number, fields) for every non-blank line, and the SHA-256 of the bytes read."""
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    # One read: the digest is of the very bytes parsed, even if the file changes meanwhile.
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(f"{path}: not a UTF-8 text file ({exc.reason} at byte "
                         f"{exc.start})") from None
    rows = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        start = 1
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise TableError(f"{path}, line {reader.line_num}: {exc}") from None
    return rows, hashlib.sha256(data).hexdigest()


def _names(path: Path, line: int, fields: list[str]) -> list[str]:
    """A header's names; two columns of one name are refused (which would a model mean?)."""
    names = [field.strip() for field in fields]
    seen = {}
    for j, name in enumerate(names):
        if name in seen:
            raise TableError(f"{path}, line {line}: columns {seen[name] + 1} and {j + 1} are "
                             f"both named {name!r}; each column needs a name of its own")
        seen[name] = j
    return names


def _float(text: str) -> float:
    """``float(text)``, without the Python-literal extras a CSV file does not mean:
    ``1_000`` (a digit separator to Python) is text here, not the number 1000."""
    if "_" in text:
        raise ValueError(f"could not convert string to float: {text!r}")
    return float(text)


def _is_number(text: str) -> bool:
    try:
        _float(text)
    except ValueError:
        return False
    return True


def _header(path: Path, rows, has_target: bool, target) -> list[str] | None:
    """The first line's names if it is a header, else None (it is the first data row).

    A header has no numbers among its feature names. A first line of numbers whose
    target field alone is text is a header too when every other row's target is a
    number (numbered columns); otherwise it is a data row with a text label. A first
    line mixing numbers and text among its features is neither: an error.
    """
    line, fields = rows[0]
    column = _target_guess(fields, has_target, target)
    numeric = [_is_number(field) for field in fields]
    features = [flag for j, flag in enumerate(numeric) if j != column]
    if all(numeric):
        return None
    if not any(features):
        return _names(path, line, fields)
    if all(features):
        others = [f[column] for _, f in rows[1:] if len(f) > column]
        return _names(path, line, fields) if others and all(
            map(_is_number, others)) else None
    j = next(j for j, flag in enumerate(numeric) if not flag and j != column)
    raise TableError(f"{path}, line {line}, column {j + 1}: {fields[j].strip()[:40]!r} is not "
                     "a number, and the line is not a header either (a header has no numbers "
                     "among its feature names)")


def _target_guess(fields: list[str], has_target: bool, target) -> int | None:
    """The target's column before the header is known: by number, or the last."""
    if not has_target:
        return None
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        if 1 <= int(target) <= len(fields):
            return int(target) - 1
    if isinstance(target, str) and not target.isdigit():
        names = [field.strip() for field in fields]
        if target in names:
            return names.index(target)
    return len(fields) - 1


def _target_index(path: Path, header, width: int, has_target: bool, target,
                  delimiter: str) -> int | None:
    if not has_target:
        return None
    if target is None:
        if width < 2:
            raise TableError(f"{path}: one column; a table needs features and a target "
                             f"(the last column), separated by {delimiter!r}")
        return width - 1
    if isinstance(target, str) and not target.isdigit():
        if header is None or target not in header:
            known = "the file has no header line" if header is None else f"columns: {header}"
            raise TableError(f"{path}: no column named {target!r} ({known})")
        return header.index(target)
    number = int(target)
    if not 1 <= number <= width:
        raise TableError(f"{path}: target column {number} does not exist; the file has "
                         f"{width} columns (counted from 1)")
    return number - 1


def _where(path: Path, line: int, column: int, header) -> str:
    name = f" ({header[column]!r})" if header is not None else ""
    return f"{path}, line {line}, column {column + 1}{name}"


def _number(path: Path, line: int, column: int, text: str, header) -> float:
    text = text.strip()
    if not text:
        raise TableError(f"{_where(path, line, column, header)}: empty (missing values are not "
                         "supported: fill or drop them first)")
    try:
        value = _float(text)
    except ValueError:
        raise TableError(f"{_where(path, line, column, header)}: {text[:40]!r} is not a "
                         "number") from None
    if not math.isfinite(value):
        raise TableError(f"{_where(path, line, column, header)}: {text!r} is not a finite "
                         "number")
    return value


# -- what the target holds ------------------------------------------------------------------


def guess_task(target: np.ndarray) -> tuple[str, str]:
    """``("classification" | "regression", why)`` for a target column of text.

    Text labels are classes. Numbers are classes only when they are whole and
    there are at most ``MAX_GUESSED_CLASSES`` distinct values; many distinct
    whole numbers (prices, counts, ages) are a quantity. Labels are counted as
    ``ClassLabels`` counts them: ``1`` and ``1.0`` are one.
    """
    spellings = np.unique(target)
    values = [_exact(text) for text in spellings]
    if any(value is None for value in values):
        distinct = len({_key(text) for text in spellings})
        return "classification", f"the target holds text labels ({distinct} distinct)"
    if not all(isinstance(value, int) for value in values):
        return "regression", "the target holds numbers that are not all whole"
    distinct = len(set(values))
    if distinct > MAX_GUESSED_CLASSES:
        return "regression", (f"the target holds {distinct} distinct whole numbers, "
                              f"more than {MAX_GUESSED_CLASSES}: a quantity, not classes")
    return "classification", f"the target holds {distinct} distinct whole numbers"


def target_numbers(target: np.ndarray, table: Table | None = None) -> np.ndarray:
    """The target column as float64 numbers; an error names the first row that is not."""
    if all(_finite_number(text) for text in target):
        return target.astype(np.float64)
    bad = next(i for i, text in enumerate(target) if not _finite_number(text))
    where = f"row {bad + 1}"
    if table is not None and table.target_column is not None:
        header = None
        if table.feature_names is not None:
            header = list(table.feature_names)
            header.insert(table.target_column - 1, table.target_name)
        where = _where(table.path, int(table.lines[bad]), table.target_column - 1, header)
    raise TableError(f"{where}: {target[bad][:40]!r} is not a number; a regression target "
                     "must be one")


def _finite_number(text: str) -> bool:
    try:
        return math.isfinite(_float(text))
    except ValueError:
        return False


def _exact(text: str) -> int | float | None:
    """A label's value if it is a finite number, else None: an int when it is whole, at
    any size (float64 would make 2**53 + 1 into 2**53), else the float it reads as."""
    if not _finite_number(text):
        return None
    try:
        # Decimal reads "1e-999999" in a blink, where an exact fraction would build
        # a million-digit integer; whole values are turned into ints exactly.
        value = Decimal(text.strip())
    except InvalidOperation:  # a spelling float() reads and Decimal does not
        value = Decimal(float(text))
    return int(value) if value == value.to_integral_value() else float(text)


class ClassLabels:
    """Class labels ↔ the indices 0…k−1 of a classifier's outputs.

    The classes are the sorted distinct labels of the whole target column:
    numbers in numeric order (kept as numbers, whole ones as exact ints), text in
    text order. Labels that are the same number (``"1"``, ``"1.0"``, ``1``) are
    one class, also among text labels, where the first spelling in text order names
    it.

    Parameters
    ----------
    classes : list of str, int or float
        The labels, in the order of the outputs.
    """

    def __init__(self, classes):
        self.classes = list(classes)
        self._index = {}
        for i, label in enumerate(self.classes):
            if self._index.setdefault(_key(label), i) != i:
                raise ValueError(f"classes {self.classes} name one class twice: "
                                 f"{self.classes[self._index[_key(label)]]!r} and {label!r}")

    @classmethod
    def from_target(cls, target: np.ndarray) -> ClassLabels:
        """The classes of a target column; ``nan`` or ``inf`` among number labels is
        refused (a missing value written out, never a class to train)."""
        spellings = np.unique(target).tolist()
        values = [_exact(text) for text in spellings]
        odd = [text for text, value in zip(spellings, values, strict=True)
               if value is None and _is_number(text)]
        if odd and len(odd) < len(spellings) and all(
                value is not None or text in odd for text, value in zip(spellings, values,
                                                                        strict=True)):
            row = int(np.flatnonzero(np.asarray(target) == odd[0])[0])
            raise TableError(f"label {odd[0]!r} (row {row + 1}) is not a finite number and "
                             "the other labels are numbers: a missing value? (missing labels "
                             "are not supported: fill or drop those rows first)")
        if all(value is not None for value in values):
            return cls(sorted(set(values)))
        first = {}
        for text in spellings:  # sorted, so the first spelling of a number is fixed
            first.setdefault(_key(text), text)
        return cls(list(first.values()))

    def encode(self, target: np.ndarray) -> np.ndarray:
        """Labels → class indices (n,); an unknown label is an error naming it."""
        spellings, rows = np.unique(np.asarray(target), return_inverse=True)
        indices = np.empty(len(spellings), dtype=np.int64)
        for k, label in enumerate(spellings.tolist()):
            index = self._index.get(_key(label))
            if index is None:
                row = int(np.flatnonzero(rows.ravel() == k)[0])
                raise ValueError(f"label {str(label)!r} (row {row + 1}) is not one of the "
                                 f"model's classes {self.classes}")
            indices[k] = index
        return indices[rows.ravel()]

    def decode(self, indices) -> list:
        """Class indices → the original labels."""
        return [self.classes[int(i)] for i in np.asarray(indices).ravel()]

    def __len__(self) -> int:
        return len(self.classes)


def _key(label):
    """Labels compare as numbers when they are numbers: ``"1"``, ``"1.0"`` and ``1`` agree;
    ``"9007199254740993"`` and ``9007199254740992`` do not."""
    if isinstance(label, str):
        value = _exact(label)
        return ("s", label.strip()) if value is None else ("n", value)
    if isinstance(label, float) and label.is_integer():
        return ("n", int(label))
    return ("n", label)


def stratified_split(classes: np.ndarray | None, n_rows: int, test_size: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train_rows, test_rows): ``round(test_size · count)`` rows of each class
    held out (of all rows when ``classes`` is None, as for a regression target)."""
    groups = [np.arange(n_rows)] if classes is None else [
        np.flatnonzero(classes == label) for label in np.unique(classes)]
    held_out = []
    for rows in groups:
        rows = rng.permutation(rows)
        held_out.append(rows[:round(len(rows) * test_size)])
    test = np.sort(np.concatenate(held_out))
    train = np.setdiff1d(np.arange(n_rows), test, assume_unique=True)
    return train, test
