# Databricks notebook source
# MAGIC %md
# MAGIC # Decision tree income classifier
# MAGIC
# MAGIC Task `Decision_Tree` of the `income_classifiers` job. It trains a decision tree that predicts
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
from sklearn.tree import DecisionTreeClassifier

X_train, X_test, y_train, y_test = load_income_data(seed)

# Keep the tree shallow: a deep one learns the training rows by heart and does worse on new ones.
model = DecisionTreeClassifier(max_depth=5, random_state=seed)
model.fit(X_train, y_train)

# score() is numpy's float64: make it a plain float, and round it, before it becomes a task value.
accuracy = round(float(model.score(X_test, y_test)), 4)
print(f"Decision tree accuracy: {accuracy:.2%}")

# COMMAND ----------

# DBTITLE 1,Share the accuracy with downstream tasks
dbutils.jobs.taskValues.set(key="model_performance", value=accuracy)
