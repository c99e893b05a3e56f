# Databricks notebook source
# MAGIC %md
# MAGIC # Random forest income classifier
# MAGIC
# MAGIC Task `Random_Forest` of the `income_classifiers` job. It trains a random forest that predicts
# MAGIC whether a person earns over 50K, measures its accuracy on held-out rows, and hands the accuracy to
# MAGIC the `Best_Model` task as the task value `model_performance`.

# COMMAND ----------

# DBTITLE 1,Parameters
# The job passes `seed` through `base_parameters`; run interactively, the widget's default applies.
dbutils.widgets.text("seed", "42")
seed = int(dbutils.widgets.get("seed"))

# COMMAND ----------

# MAGIC %run ./prepare_data

# COMMAND ----------

# DBTITLE 1,Train and score
from sklearn.ensemble import RandomForestClassifier

X_train, X_test, y_train, y_test = load_income_data(seed)

# A hundred shallow trees, each grown on a bootstrap sample of the rows, vote on every prediction.
model = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=seed)
model.fit(X_train, y_train)

# score() is numpy's float64: make it a plain float, and round it, before it becomes a task value.
accuracy = round(float(model.score(X_test, y_test)), 4)
print(f"Random forest accuracy: {accuracy:.2%}")

# COMMAND ----------

# DBTITLE 1,Share the accuracy with downstream tasks
dbutils.jobs.taskValues.set(key="model_performance", value=accuracy)
