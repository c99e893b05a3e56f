# Databricks notebook source
# MAGIC %md
# MAGIC # Pick the best income classifier
# MAGIC
# MAGIC Task `Best_Model` of the `income_classifiers` job. It runs after the three classifier tasks, reads
# MAGIC the `model_performance` value each of them set, and records the winner as two task values of its
# MAGIC own: `best_model` (the winning task's key) and `best_accuracy`.
# MAGIC
# MAGIC Run on its own, outside a job, every `get` returns its `debugValue` (0 here), so the notebook still
# MAGIC runs from top to bottom while you work on it.

# COMMAND ----------

# DBTITLE 1,Read each classifier's accuracy
# taskKey is the upstream task's key in the job definition, not its notebook's name.
lr_acc = dbutils.jobs.taskValues.get(taskKey="Logistic_Regression", key="model_performance", debugValue=0)
dt_acc = dbutils.jobs.taskValues.get(taskKey="Decision_Tree", key="model_performance", debugValue=0)
rf_acc = dbutils.jobs.taskValues.get(taskKey="Random_Forest", key="model_performance", debugValue=0)

accuracies = {
    "Logistic_Regression": lr_acc,
    "Decision_Tree": dt_acc,
    "Random_Forest": rf_acc,
}
for task_key, accuracy in accuracies.items():
    print(f"{task_key:<20} {accuracy:.2%}")

# COMMAND ----------

# DBTITLE 1,Pick the winner
# On a tie, the first task listed wins.
best_model = max(accuracies, key=accuracies.get)
best_accuracy = accuracies[best_model]
print(f"Best model: {best_model} ({best_accuracy:.2%})")

dbutils.jobs.taskValues.set(key="best_model", value=best_model)
dbutils.jobs.taskValues.set(key="best_accuracy", value=best_accuracy)

# COMMAND ----------

# The exit value is the task's result: it shows with the task's run, next to its task values.
dbutils.notebook.exit(f"{best_model} wins with an accuracy of {best_accuracy:.2%}")
