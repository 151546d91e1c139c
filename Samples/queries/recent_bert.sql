-- BERT-family runs created in the last 30 days of the data.
SELECT name, config.model.arch, created_at, val_f1
FROM runs
WHERE 'bert' IN tags
  AND created_at > (SELECT max(created_at) FROM runs) - INTERVAL 30 DAY
ORDER BY created_at DESC;
