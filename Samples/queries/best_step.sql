-- History as a table: the best step of every run.
SELECT run.name, arg_max(_step, "val/acc") AS best_step, max("val/acc")
FROM history
GROUP BY run.name
ORDER BY 3 DESC
LIMIT 20;
