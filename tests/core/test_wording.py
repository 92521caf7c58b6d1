"""The one wording helper: counts, plurals and durations as people read them (issue 11)."""

from __future__ import annotations

import doctest

import pytest

from udl_core import wording
from udl_core.wording import count, duration, plural, rate


def test_counts_have_thousands_separators() -> None:
    assert count(1_000_000) == "1,000,000"
    assert count(999) == "999"
    assert count(1234.0) == "1,234"
    assert count(0.125) == "0.125"


@pytest.mark.parametrize(("n", "word", "expected"), [
    (1, "class", "1 class"), (2, "class", "2 classes"), (0, "class", "0 classes"),
    (1, "epoch", "1 epoch"), (3, "epoch", "3 epochs"), (1_000_000, "row", "1,000,000 rows"),
    (2, "batch", "2 batches"), (2, "entry", "2 entries"), (2, "key", "2 keys"), (1, "feature", "1 feature"),
])
def test_plurals(n: int, word: str, expected: str) -> None:
    assert plural(n, word) == expected


def test_irregular_plural_is_given() -> None:
    assert plural(2, "index", "indices") == "2 indices"
    assert plural(1, "index", "indices") == "1 index"


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.0, "<10 ms"), (0.004, "<10 ms"), (0.34, "340 ms"), (0.9996, "1.0 s"), (2.43, "2.4 s"),
    (12.4, "12 s"), (59.4, "59 s"), (65, "1 min 5 s"), (120, "2 min"), (3725, "1 h 2 min"),
])
def test_durations_never_say_zero_seconds(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected
    assert "0.00" not in duration(seconds)


def test_rates() -> None:
    assert rate(123456.7, "samples") == "123,457 samples/s"
    assert rate(2.5, "samples") == "2.5 samples/s"


def test_module_examples() -> None:
    assert doctest.testmod(wording).failed == 0


def test_the_window_says_its_own_words_for_the_cli_flags() -> None:
    from udl_core.wording import in_window_words

    guess = "label: guessed 'sex' (the last column that can be a label: after it, 'year' (years)); name one with --label"
    said = in_window_words(guess)
    assert "--label" not in said and said.startswith("label: guessed 'sex'")
    assert "confirm it or pick another" in said
    assert in_window_words("no labels: give a labels file (--labels)") == "no labels: give a labels file (--labels)"
    error = "no column can be the label by default: 'a' (years); name one with --label"
    assert in_window_words(error) == "no column can be the label by default: 'a' (years); pick one in the Label column box"
