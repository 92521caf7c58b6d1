"""Write the bundled sample dataset, resources/samples/sample.csv (run: make samples).

A small penguin-like table, made here rather than downloaded: three species told apart by
their measurements, with what real files have — a categorical column, a boolean, missing
values written as NA, and numbers on different scales. Deterministic: the same bytes every run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "samples" / "sample.csv"

SPECIES = {
    # name: (bill length, bill depth, flipper length, body mass), islands it lives on
    "Adelie": ((38.8, 18.3, 190.0, 3700.0), ("Biscoe", "Dream", "Torgersen")),
    "Chinstrap": ((48.8, 18.4, 196.0, 3730.0), ("Dream",)),
    "Gentoo": ((47.5, 15.0, 217.0, 5080.0), ("Biscoe",)),
}
SPREAD = (2.5, 1.1, 6.5, 450.0)


def make_rows(seed: int = 7, per_species: int = 100) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for species, (means, islands) in SPECIES.items():
        for _ in range(per_species):
            bill_l, bill_d, flipper, mass = rng.normal(means, SPREAD)
            rows.append(
                {
                    "island": islands[rng.integers(len(islands))],
                    "bill_length_mm": round(float(bill_l), 1),
                    "bill_depth_mm": round(float(bill_d), 1),
                    "flipper_length_mm": int(round(flipper)),
                    "body_mass_g": int(round(mass / 25.0) * 25),
                    "sex": ("female", "male")[rng.integers(2)],
                    "tagged": bool(rng.random() < 0.3),
                    "species": species,
                }
            )
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    for i in rng.choice(len(rows), size=12, replace=False):  # real files have gaps
        rows[i][("bill_length_mm", "body_mass_g", "sex")[i % 3]] = "NA"
    return rows


def main() -> Path:
    rows = make_rows()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()})
    tmp.replace(OUT)
    return OUT


if __name__ == "__main__":
    print(main())
