# Databricks notebook source
# MAGIC %md
# MAGIC # Logistic regression income classifier
# MAGIC
# MAGIC Task `Logistic_Regression` of the `income_classifiers` job. It trains a logistic regression that
# MAGIC predicts whether a person earns over 50K, measures its accuracy on held-out rows, and hands the
# MAGIC accuracy to the `Best_Model` task as the task value `model_performance`.

# COMMAND ----------

# DBTITLE 1,Parameters
# The job passes `seed` through `base_parameters`; run interactively, the widget's default applies.
dbutils.widgets.text("seed", "42")
seed = int(dbutils.widgets.get("seed"))

# COMMAND ----------

# MAGIC %run ./prepare_data

# COMMAND ----------

# DBTITLE 1,Train and score
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X_train, X_test, y_train, y_test = load_income_data(seed)

# Scale the features first: capital gain is in the thousands, education in single digits.
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)

# score() is numpy's float64: make it a plain float, and round it, before it becomes a task value.
accuracy = round(float(model.score(X_test, y_test)), 4)
print(f"Logistic regression accuracy: {accuracy:.2%}")

# COMMAND ----------

# DBTITLE 1,Share the accuracy with downstream tasks
dbutils.jobs.taskValues.set(key="model_performance", value=accuracy)
