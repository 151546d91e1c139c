-- Which dataset versions is the production model built from? (lineage, any depth)
SELECT name, version, depth
FROM upstream('bert-classifier:production')
WHERE type = 'dataset'
ORDER BY depth, name;
