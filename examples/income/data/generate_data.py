"""Generate ``adult_income.csv``: a small synthetic dataset shaped like the UCI "Adult" census data.

The income example trains three classifiers on it. The data is made up, but follows the broad patterns of the
real dataset, so the classifiers have something to learn:

- income rises with years of education and hours worked, and with age until the early fifties, then falls;
- a capital gain is rare, and a large one nearly always means an income over 50K;
- managerial and professional occupations earn more than service work.

About one person in five earns over 50K. The three models score within a few points of each other, so which
one wins depends on the train/test split: change the job's ``seed`` parameter and see.

The generator uses only the standard library (``random.Random`` with a fixed seed), so the same seed gives the
same file on every platform and Python version. The file is committed; regenerate it with::

    python examples/income/data/generate_data.py
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

__all__ = ["COLUMNS", "DEFAULT_ROWS", "DEFAULT_SEED", "OCCUPATIONS", "generate_rows", "main", "write_csv"]

DEFAULT_ROWS = 2000
DEFAULT_SEED = 1994  # the year of the census extract the real "Adult" dataset comes from
COLUMNS = ("age", "education_years", "hours_per_week", "capital_gain", "occupation", "income")

# Each occupation and how much it shifts the log-odds of earning over 50K.
OCCUPATIONS = {
    "Exec-managerial": 1.2,
    "Prof-specialty": 1.0,
    "Tech-support": 0.4,
    "Sales": 0.2,
    "Craft-repair": -0.1,
    "Adm-clerical": -0.5,
    "Other-service": -1.4,
    "Handlers-cleaners": -1.2,
}


def generate_rows(n_rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> list[dict[str, str | int]]:
    """Return ``n_rows`` synthetic people as dicts keyed by :data:`COLUMNS`; one seed, one list of rows.

    Parameters
    ----------
    n_rows
        How many rows to generate.
    seed
        The seed of the random generator.
    """
    rng = random.Random(seed)
    occupations = list(OCCUPATIONS)
    rows: list[dict[str, str | int]] = []
    for _ in range(n_rows):
        age = min(90, max(17, round(rng.gauss(39, 13))))
        education_years = min(16, max(1, round(rng.gauss(10, 2.6))))
        hours_per_week = min(99, max(1, round(rng.gauss(40, 12))))
        occupation = rng.choice(occupations)
        capital_gain = 0
        if rng.random() < 0.08:
            capital_gain = round(rng.lognormvariate(8.5, 1.2) / 10) * 10

        # Log-odds of earning over 50K: a hump in age, straight lines in education and hours.
        logit = (
            -0.9
            - ((age - 52) / 14) ** 2
            + 0.45 * (education_years - 10)
            + 0.04 * (hours_per_week - 40)
            + OCCUPATIONS[occupation]
            + (3.0 if capital_gain > 7000 else 0.0)
        )
        over_50k = rng.random() < 1 / (1 + math.exp(-logit))
        rows.append(
            {
                "age": age,
                "education_years": education_years,
                "hours_per_week": hours_per_week,
                "capital_gain": capital_gain,
                "occupation": occupation,
                "income": ">50K" if over_50k else "<=50K",
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, str | int]]) -> None:
    """Write ``rows`` to ``path`` as CSV with a header line and ``\\n`` line endings."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Write ``adult_income.csv`` next to this script."""
    path = Path(__file__).with_name("adult_income.csv")
    rows = generate_rows()
    write_csv(path, rows)
    share = sum(row["income"] == ">50K" for row in rows) / len(rows)
    print(f"Wrote {len(rows)} rows to {path} ({share:.0%} earn over 50K).")


if __name__ == "__main__":
    main()
