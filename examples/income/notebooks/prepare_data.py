# Databricks notebook source
# MAGIC %md
# MAGIC # Prepare the income data
# MAGIC
# MAGIC A helper notebook, not a task of its own: each classifier pulls it in with `%run ./prepare_data`,
# MAGIC which runs it in the classifier's own namespace. That makes `load_income_data` available there, so
# MAGIC the three models train and score on exactly the same split.
# MAGIC
# MAGIC The data is `../data/adult_income.csv`, a small synthetic dataset shaped like the UCI "Adult" census
# MAGIC data (see `../data/generate_data.py`): age, years of education, hours worked per week, capital gain
# MAGIC and occupation, and whether the person earns over 50K a year.

# COMMAND ----------

# DBTITLE 1,Load, encode and split
import csv
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder

# Relative to the notebook's folder: tasks run with their notebook's folder as the working directory.
DATA_PATH = Path("../data/adult_income.csv")
NUMERIC_COLUMNS = ["age", "education_years", "hours_per_week", "capital_gain"]


def load_income_data(seed, test_size=0.25):
    """Return ``X_train, X_test, y_train, y_test``; ``y`` is 1 for an income over 50K."""
    with DATA_PATH.open(newline="") as f:
        rows = list(csv.DictReader(f))
    numeric = np.array([[float(row[column]) for column in NUMERIC_COLUMNS] for row in rows])
    # Occupation is a category: one column per occupation, 1 where it applies.
    occupation = OneHotEncoder(sparse_output=False).fit_transform([[row["occupation"]] for row in rows])
    features = np.hstack([numeric, occupation])
    labels = np.array([row["income"] == ">50K" for row in rows], dtype=int)
    # Stratify so that every split keeps the same share of high earners.
    return train_test_split(features, labels, test_size=test_size, random_state=seed, stratify=labels)
