-- Which runs and models depend on the first export of the support tickets?
SELECT depth, kind, coalesce(name || ':v' || version, run_name) AS node, type, via
FROM downstream('support-tickets:v0')
ORDER BY depth, node;
