-- Which dataset versions is the production model built from? (lineage, any depth)
-- The sample store gains artifacts with the artifacts work; until then this finds nothing.
SELECT name, version
FROM upstream('bert-classifier:production')
WHERE type = 'dataset';
