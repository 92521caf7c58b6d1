"""A guessed label's candidates, ranked for a person to pick from (issue 11)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from udl_core.cli import main
from udl_core.label_rules import label_candidates
from udl_core.schema import infer
from udl_core.table import Table

N = 120


def penguins() -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({
        "rownum": np.arange(N),                                             # an id: never a label
        "species": rng.choice(["Adelie", "Gentoo", "Chinstrap"], N),
        "island": rng.choice(["Biscoe", "Dream", "Torgersen"], N),
        "bill_length_mm": rng.normal(44, 5, N),
        "body_mass_g": rng.integers(2700, 6300, N),
        "sex": pa.array([None if i % 17 == 0 else ("male", "female")[i % 2] for i in range(N)]),
        "rings": rng.integers(1, 6, N),
        "year": rng.integers(2007, 2010, N),                                # years: never a label
    })


def test_text_columns_with_few_values_come_first_then_whole_numbers_then_the_rest() -> None:
    schema = infer(Table("penguins.csv", "csv", columns=penguins()))
    assert schema.label_guessed and schema.label == "rings"
    assert schema.label_candidates == ("species", "island", "sex", "rings", "body_mass_g", "bill_length_mm")


def test_a_named_label_has_no_candidates() -> None:
    schema = infer(Table("penguins.csv", "csv", columns=penguins()), label="species")
    assert not schema.label_guessed and schema.label_candidates == ()


def test_ignored_columns_are_no_candidates() -> None:
    table = Table("penguins.csv", "csv", columns=penguins())
    schema = infer(table, ignore=["species"])
    assert "species" not in schema.label_candidates
    infos = infer(table).columns
    assert label_candidates(infos, table.columns.columns, N, skip={"species"})[:2] == ["island", "sex"]


def test_inspect_json_lists_the_candidates(tmp_path, capsys) -> None:
    path = tmp_path / "penguins.csv"
    pacsv.write_csv(penguins(), path)
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["label_guessed"] is True
    assert report["label_candidates"][:3] == ["species", "island", "sex"]
    assert "year" not in report["label_candidates"] and "rownum" not in report["label_candidates"]
