-- Runs whose training diverged: their loss ended as NaN or infinity.
SELECT name, project, state, summary."train/loss"
FROM runs
WHERE isnan(summary."train/loss") OR isinf(summary."train/loss")
ORDER BY created_at;
