-- Every model version: where its aliases are, what it scored, which run made it on which data.
SELECT a.version, a.aliases, a.metadata.val_f1, r.name AS trained_by, l.reference AS trained_on
FROM artifacts a
JOIN runs r ON r.id = a.logged_by
LEFT JOIN lineage l ON l.run_id = a.logged_by AND l.kind = 'used'
WHERE a.name = 'bert-classifier'
ORDER BY a.version;
