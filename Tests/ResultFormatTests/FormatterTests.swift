import ColumnIndex
import Foundation
import QueryEngine
import ResultFormat
import Testing

/// Every format on the awkward values: NULL, NaN, ±Infinity, '', quotes, commas, pipes, newlines, unicode.
@Suite struct FormatterTests {
    static let result = QueryResult(
        names: ["name", "score", "note", "tags", "at"],
        columns: [
            Column.from([.string("alpha"), .string("bêta, \"b\""), .null, .string("")], type: .varchar),
            Column.from([.double(0.5), .double(.nan), .double(-.infinity), .int(3)]),
            Column.from([.string("a|b"), .string("line1\nline2"), .string("日本"), .null], type: .varchar),
            Column.from([.list([.string("x"), .string("y")]), .list([]), .null, .list([.int(1)])]),
            Column.from([.timestamp(1_767_571_200_000_000), .null, .timestamp(1_767_571_200_500_000), .null], type: .timestamp),
        ],
        rowCount: 4)

    @Test func table() {
        #expect(OutputFormat.table.formatter().format(Self.result) == """
            ┌───────────┬───────────┬─────────────┬────────┬───────────────────────┐
            │ name      │ score     │ note        │ tags   │ at                    │
            ├───────────┼───────────┼─────────────┼────────┼───────────────────────┤
            │ alpha     │       0.5 │ a|b         │ [x, y] │ 2026-01-05 00:00:00   │
            │ bêta, "b" │       NaN │ line1↵line2 │ []     │ NULL                  │
            │ NULL      │ -Infinity │ 日本        │ NULL   │ 2026-01-05 00:00:00.5 │
            │           │         3 │ NULL        │ [1]    │ NULL                  │
            └───────────┴───────────┴─────────────┴────────┴───────────────────────┘

            """)
    }

    @Test func tableOnATerminalFoldsColumnsAndElidesRows() {
        let wide = QueryResult(
            names: (1...8).map { "column\($0)" },
            columns: (1...8).map { column in Column.from((1...30).map { Value.int(Int64($0 * column)) }) },
            rowCount: 30)
        let text = BoxTableFormatter(maxWidth: 50, maxRows: 4).format(wide)
        let lines = text.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 50 })
        #expect(lines[1] == "│ column1 │ column2 │ … │ column7 │ column8 │")
        #expect(lines[3] == "│       1 │       2 │ … │       7 │       8 │")
        #expect(lines[5] == "│ ·       │ ·       │ · │ ·       │ ·       │")
        #expect(lines.last == "30 rows (4 shown), 8 columns (4 shown)")
    }

    @Test func csvAndTSV() {
        let csvLines = [
            "name,score,note,tags,at",
            "alpha,0.5,a|b,\"[x, y]\",2026-01-05 00:00:00",
            "\"bêta, \"\"b\"\"\",NaN,\"line1",
            "line2\",[],",
            ",-Infinity,日本,,2026-01-05 00:00:00.5",
            "\"\",3,,[1],",
        ]
        #expect(OutputFormat.csv.formatter().format(Self.result) == csvLines.joined(separator: "\n") + "\n")
        #expect(OutputFormat.tsv.formatter().format(Self.result).hasPrefix("name\tscore\tnote\ttags\tat\nalpha\t0.5\ta|b\t[x, y]\t"))
    }

    @Test func markdown() {
        #expect(OutputFormat.markdown.formatter().format(Self.result) == """
            | name | score | note | tags | at |
            | --- | ---: | --- | --- | --- |
            | alpha | 0.5 | a\\|b | [x, y] | 2026-01-05 00:00:00 |
            | bêta, "b" | NaN | line1<br>line2 | [] | NULL |
            | NULL | -Infinity | 日本 | NULL | 2026-01-05 00:00:00.5 |
            |  | 3 | NULL | [1] | NULL |

            """)
    }

    @Test func jsonAndNDJSON() throws {
        let json = OutputFormat.json.formatter().format(Self.result)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 4)
        #expect(parsed?[1]["score"] is NSNull)
        #expect(parsed?[0]["at"] as? String == "2026-01-05T00:00:00Z")
        #expect((parsed?[0]["tags"] as? [String]) == ["x", "y"])
        let lines = OutputFormat.ndjson.formatter().format(Self.result).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[2] == #"{"name":null,"score":null,"note":"日本","tags":null,"at":"2026-01-05T00:00:00.5Z"}"#)
    }

    @Test func optionsNullTextHeaderAndPrecision() {
        let options = FormatOptions(nullText: "-", header: false, precision: 2)
        let result = QueryResult(names: ["x", "y"], columns: [Column.from([.double(3.14159), .double(12345.678)]), Column.from([.null, .int(7)])], rowCount: 2)
        #expect(OutputFormat.markdown.formatter(options).format(result) == "|  |  |\n| ---: | ---: |\n| 3.1 | - |\n| 12000.0 | 7 |\n")
        #expect(OutputFormat.csv.formatter(FormatOptions(header: false)).format(result) == "3.14159,\n12345.678,7\n")
        #expect(OutputFormat.csv.formatter().format(QueryResult(names: ["a", "b"], columns: [Column.from([Value]()), Column.from([Value]())], rowCount: 0)) == "a,b\n")
    }
}
