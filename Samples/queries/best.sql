-- The best finished runs by validation F1 (a diverged run's NaN never ranks first).
SELECT name, val_f1
FROM runs
WHERE state = 'finished'
ORDER BY val_f1 DESC
LIMIT 10;
