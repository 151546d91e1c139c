-- Mean ± standard deviation over seeds, per learning rate: something no tracker's API does.
SELECT config.learning_rate, count(*), avg(val_f1), stddev(val_f1)
FROM runs
GROUP BY ALL
ORDER BY 3 DESC;
