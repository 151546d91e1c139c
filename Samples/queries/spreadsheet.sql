-- Every run with its learning rate and validation F1, for a spreadsheet:
--   runql --store Samples/store --format csv -o runs.csv -f Samples/queries/spreadsheet.sql
SELECT name, config.learning_rate, summary."val/f1"
FROM runs;
