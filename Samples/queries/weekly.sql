-- The weekly team update, as a Markdown table:
--   runql --store Samples/store --format markdown -f Samples/queries/weekly.sql >> update.md
SELECT project,
       count(*) AS runs,
       count(*) FILTER (WHERE state = 'finished') AS finished,
       max(val_f1) AS best_val_f1,
       arg_max(name, val_f1) AS best_run
FROM runs
WHERE created_at > (SELECT max(created_at) FROM runs) - INTERVAL 7 DAY
GROUP BY project
ORDER BY best_val_f1 DESC;
