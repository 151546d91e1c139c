import Foundation
import Testing
@testable import QuerySyntax

/// Keeps Grammar/RunQL.ebnf in step with the parser: every production has examples that parse (and
/// round-trip through the printer), every production is reachable and defined, and the keyword lists
/// written in the grammar are the parser's.
@Suite struct GrammarTests {
    /// Example scripts for each production of the grammar, keyed by production name.
    static let examples: [String: [String]] = [
        // Statements
        "script": ["SELECT 1; SELECT 2", "SELECT 1;", ";;SHOW TABLES;;", ""],
        "statement": ["SELECT 1", "EXPLAIN SELECT 1", "SHOW TABLES", "SHOW KEYS", "DESCRIBE runs"],
        "explain_statement": ["EXPLAIN SELECT name FROM runs WHERE val_f1 > 0.9", "explain (SELECT 1) UNION SELECT 2"],
        "show_tables_statement": ["SHOW TABLES", "show tables"],
        "show_keys_statement": ["SHOW KEYS", "SHOW KEYS config", "SHOW KEYS summary", "SHOW KEYS HISTORY", "SHOW KEYS metadata"],
        "describe_statement": ["DESCRIBE runs", "DESCRIBE history", "describe \"artifacts\""],
        // Queries
        "query": ["SELECT name FROM runs ORDER BY val_f1 DESC LIMIT 10", "WITH t AS (SELECT 1 AS x) SELECT x FROM t OFFSET 1"],
        "with_clause": ["WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b", "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT 2) SELECT * FROM r"],
        "common_table_expression": ["WITH best AS (SELECT * FROM runs WHERE val_f1 > 0.9 ORDER BY val_f1 LIMIT 5) SELECT name FROM best"],
        "set_expression": ["SELECT 1 UNION SELECT 2 EXCEPT SELECT 3", "SELECT name FROM runs UNION ALL SELECT name FROM artifacts"],
        "intersection": ["SELECT 1 INTERSECT SELECT 1 INTERSECT ALL SELECT 1"],
        "set_quantifier": ["SELECT 1 UNION ALL SELECT 1", "SELECT 1 UNION DISTINCT SELECT 1"],
        "set_operand": ["(SELECT 1 ORDER BY 1 LIMIT 1) UNION SELECT 2", "SELECT 1 UNION (WITH t AS (SELECT 2) SELECT * FROM t)"],
        "select_core": ["SELECT DISTINCT project FROM runs WHERE state = 'finished' GROUP BY project HAVING count(*) > 1 QUALIFY true", "SELECT ALL 1, 2"],
        "select_item": ["SELECT *, name, val_f1 AS f1 FROM runs"],
        "star_item": ["SELECT * FROM runs", "SELECT r.* FROM runs r", "SELECT config.*, summary.* FROM runs", "SELECT * EXCLUDE (notes) FROM runs"],
        "exclude_clause": ["SELECT * EXCLUDE (config, summary) FROM runs", "SELECT * EXCLUDE notes FROM runs"],
        "column_alias": ["SELECT val_f1 AS f1, val_f1 f2, val_f1 AS \"F/1\", 1 AS from FROM runs"],
        "from_clause": ["SELECT name FROM runs"],
        "table_expression": ["SELECT * FROM runs r JOIN history h ON h.run_id = r.id LEFT JOIN artifacts a USING (id)"],
        "join_clause": ["SELECT * FROM a, b", "SELECT * FROM a CROSS JOIN b", "SELECT * FROM a JOIN b ON a.x = b.x", "SELECT * FROM a INNER JOIN b USING (x)"],
        "join_type": ["SELECT * FROM a INNER JOIN b ON TRUE", "SELECT * FROM a LEFT JOIN b ON TRUE", "SELECT * FROM a LEFT OUTER JOIN b ON TRUE"],
        "join_condition": ["SELECT * FROM a JOIN b ON a.x = b.x AND a.y < b.y", "SELECT * FROM a JOIN b USING (x, y)"],
        "table_primary": [
            "SELECT * FROM runs", "SELECT * FROM upstream('bert:production') AS u", "SELECT * FROM (SELECT 1) AS t",
            "SELECT * FROM (a JOIN b ON a.x = b.x)",
        ],
        "table_function": ["SELECT name, version FROM upstream('bert-classifier:production') WHERE type = 'dataset'", "SELECT * FROM downstream('data:v1')"],
        "table_alias": ["SELECT * FROM runs AS r", "SELECT * FROM runs r", "SELECT * FROM history AS \"h\""],
        "join_word": [
            "SELECT * FROM runs JOIN history USING (run_id)", "SELECT * FROM runs INNER JOIN history USING (run_id)",
            "SELECT * FROM runs LEFT OUTER JOIN history USING (run_id)", "SELECT * FROM runs CROSS JOIN history",
            "SELECT right(name, 2), full, natural, window FROM runs",
        ],
        "where_clause": ["SELECT name FROM runs WHERE state = 'finished' AND 'bert' IN tags"],
        "group_by_clause": ["SELECT config.lr, avg(val_f1) FROM runs GROUP BY ALL", "SELECT project, state, count(*) FROM runs GROUP BY project, state"],
        "having_clause": ["SELECT project FROM runs GROUP BY project HAVING count(*) > 10"],
        "qualify_clause": ["SELECT name, rank() OVER (PARTITION BY project ORDER BY val_f1 DESC) AS r FROM runs QUALIFY r = 1"],
        "order_by_clause": ["SELECT name FROM runs ORDER BY val_f1 DESC, name"],
        "order_item": ["SELECT name FROM runs ORDER BY val_f1 DESC NULLS FIRST, created_at ASC NULLS LAST, 1"],
        "limit_offset": ["SELECT 1 LIMIT 10", "SELECT 1 LIMIT 10 OFFSET 5", "SELECT 1 OFFSET 5 LIMIT 10", "SELECT 1 OFFSET 5"],
        "limit_clause": ["SELECT name FROM runs LIMIT 2 * 5"],
        "offset_clause": ["SELECT name FROM runs OFFSET 20"],
        // Expressions
        "expression": ["SELECT a OR b AND NOT c = 1 + 2 * -3"],
        "or_expression": ["SELECT * FROM runs WHERE state = 'failed' OR state = 'crashed'"],
        "and_expression": ["SELECT * FROM runs WHERE val_f1 > 0.9 AND NOT isnan(val_f1)"],
        "not_expression": ["SELECT NOT x, NOT NOT x, NOT EXISTS (SELECT 1)"],
        "comparison": ["SELECT a = b, a IS NULL, a BETWEEN 1 AND 2, a IN (1, 2), a LIKE 'x%'"],
        "comparison_tail": [
            "SELECT a < b, a IS NOT NULL, a IS TRUE, a IS NOT FALSE, a IS DISTINCT FROM b, a IS NOT DISTINCT FROM b",
            "SELECT a NOT BETWEEN 1 AND 2, a NOT IN (1), a NOT LIKE 'x', a ILIKE 'X', a NOT ILIKE 'y', a LIKE 'a!%' ESCAPE '!'",
        ],
        "comparison_operator": ["SELECT a = b, a == b, a <> b, a != b, a < b, a <= b, a > b, a >= b, name ~ '^bert', name !~ 'x$'"],
        "in_target": ["SELECT x IN (SELECT y FROM t), x IN (1, 2, 3), 'bert' IN tags, 'bert' NOT IN tags"],
        "concatenation": ["SELECT project || '/' || name FROM runs"],
        "additive": ["SELECT 1 + 2 - 3"],
        "multiplicative": ["SELECT 7 * 2 / 3 // 1 % 5"],
        "unary": ["SELECT -x, +x, - -x, -(1 + 2)"],
        "postfix": ["SELECT x::DOUBLE, tags[1], x::VARCHAR[][1], tags[1]::INT"],
        "primary": ["SELECT 1, 'a', name, f(x), (1 + 2), (SELECT 1), [1, 2], CASE WHEN x THEN 1 END, CAST(x AS INT), EXISTS (SELECT 1), INTERVAL 1 DAY, DATE '2024-01-01'"],
        "literal": ["SELECT 42, 0.5, 'text', TRUE, FALSE, NULL"],
        "typed_literal": ["SELECT DATE '2024-01-31', TIME '12:00', TIMESTAMP '2024-01-31 12:00:00', TIMESTAMPTZ '2024-01-31 12:00:00+00'"],
        "interval": ["SELECT now() - INTERVAL 7 DAY, INTERVAL '7 days', INTERVAL '1' HOUR, INTERVAL (n * 2) DAY"],
        "interval_unit": [
            "SELECT " + Parser.intervalUnits.sorted().map { "INTERVAL 1 \($0)" }.joined(separator: ", "),
        ],
        "case_expression": ["SELECT CASE WHEN val_f1 > 0.9 THEN 'good' WHEN val_f1 > 0.5 THEN 'ok' ELSE 'bad' END, CASE state WHEN 'finished' THEN 1 END FROM runs"],
        "cast": ["SELECT CAST(config.lr AS DOUBLE), TRY_CAST(config.batch_size AS INTEGER) FROM runs"],
        "type_name": ["SELECT CAST(x AS DECIMAL(10, 2)), CAST(x AS VARCHAR(20)), CAST(tags AS VARCHAR[]), x::BIGINT"],
        "type_words": [
            "SELECT x::DOUBLE PRECISION, x::CHARACTER VARYING, x::CHAR VARYING, x::TIMESTAMP WITH TIME ZONE, x::TIME WITHOUT TIME ZONE, x::INTEGER",
        ],
        "exists": ["SELECT * FROM runs r WHERE EXISTS (SELECT 1 FROM history h WHERE h.run_id = r.id)"],
        "function_call": ["SELECT count(*) FILTER (WHERE state = 'finished'), row_number() OVER (ORDER BY created_at), now() FROM runs"],
        "function_arguments": ["SELECT count(*), count(DISTINCT project), count(ALL x), string_agg(name, ', ' ORDER BY name DESC), quantile(x, 0.9) FROM runs",
                               "SELECT last_value(loss IGNORE NULLS) OVER (ORDER BY _step), lag(loss, 1 RESPECT NULLS) OVER (ORDER BY _step) FROM history"],
        "filter_clause": ["SELECT sum(x) FILTER (WHERE y > 0) FROM t"],
        "over_clause": ["SELECT lag(loss, 1) OVER (PARTITION BY run.id ORDER BY _step), sum(x) OVER () FROM history"],
        "frame_clause": [
            "SELECT avg(loss) OVER (ORDER BY _step ROWS BETWEEN 9 PRECEDING AND CURRENT ROW) FROM history",
            "SELECT min(loss) OVER (ORDER BY _step ROWS UNBOUNDED PRECEDING), max(x) OVER (ORDER BY t RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW) FROM history",
        ],
        "frame_bound": ["SELECT max(x) OVER (ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), min(x) OVER (ORDER BY t ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING) FROM t"],
        "column_reference": ["SELECT name, config.optimizer.name, summary.\"val/f1\", run.name, r.id, \"group\" FROM runs r"],
        "list": ["SELECT [1, 2, 3], [], [[1], [2]]"],
        "subquery": ["SELECT name FROM runs WHERE created_at > (SELECT max(created_at) FROM runs) - INTERVAL 30 DAY"],
        "expression_list": ["SELECT f(1, 2, 3) FROM runs GROUP BY 1, 2"],
        // Names
        "name": ["SELECT val_f1, \"val/f1\", \"group\", Name FROM runs"],
        "any_name": ["SELECT 1 AS select, t.from, \"x\".* FROM t"],
        "reserved_word": [
            "SELECT " + Parser.reservedWords.sorted().map { "\"\($0.lowercased())\"" }.joined(separator: ", "),
            "SELECT " + Parser.reservedWords.sorted().map { "1 AS \($0)" }.joined(separator: ", "),
        ],
        // Tokens
        "text": ["SELECT /* c */ name -- c\nFROM runs"],
        "token": ["SELECT x, \"y\", 'z', 1, 2.5 + 3"],
        "identifier": ["SELECT val_f1, _step, x$1, ünïcödé FROM runs"],
        "identifier_start": ["SELECT a, Z, _x, é"],
        "identifier_part": ["SELECT a1, b_2, c$3"],
        "quoted_identifier": ["SELECT \"val/f1\", \"a\"\"b\", \"with space\" FROM runs"],
        "string": ["SELECT 'finished', 'it''s', '', 'two\nlines'"],
        "number": ["SELECT 42, 0.5"],
        "integer": ["SELECT 0, 42, 99999999999999999999999"],
        "decimal": ["SELECT 0.5, .5, 1., 1.5e3, 1e-3"],
        "exponent": ["SELECT 1e-3, 2E+5, 3e10"],
        "digit": ["SELECT 0123456789"],
        "operator": ["SELECT (a + b - c * d / e // f % g || h)::INT, x[1], y.z;"],
        "separator": ["SELECT\t1 /* c */ -- c\n"],
        "whitespace": ["SELECT\t1\r\n,\u{A0}2\u{B}\u{C}", "\u{FEFF}SELECT 1"],
        "comment": ["SELECT 1 -- to the end of the line", "SELECT /* block /* nested */ comment */ 1"],
    ]

    /// The grammar file.
    static func grammarText() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Grammar/RunQL.ebnf")
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test func everyProductionHasExamplesThatParse() throws {
        let grammar = try Grammar(try Self.grammarText())
        #expect(grammar.productions.count > 50)
        for name in grammar.order {
            guard let examples = Self.examples[name], !examples.isEmpty else {
                Issue.record("production \(name) has no examples in GrammarTests.examples")
                continue
            }
            for example in examples {
                expectRoundTrip(example)
            }
        }
        for name in Self.examples.keys where grammar.productions[name] == nil {
            Issue.record("GrammarTests.examples has examples for \(name), which is not a production of RunQL.ebnf")
        }
    }

    @Test func everyProductionIsDefinedAndReachable() throws {
        let grammar = try Grammar(try Self.grammarText())
        var reachable: Set<String> = []
        var pending = ["script", "text"]
        while let name = pending.popLast() {
            guard reachable.insert(name).inserted else { continue }
            guard let body = grammar.productions[name] else {
                Issue.record("\(name) is referenced but not defined")
                continue
            }
            pending.append(contentsOf: body.references)
        }
        #expect(grammar.order.first == "script")
        for name in grammar.order where !reachable.contains(name) {
            Issue.record("production \(name) is not reachable from script or text")
        }
    }

    @Test func keywordListsMatchTheParser() throws {
        let grammar = try Grammar(try Self.grammarText())
        #expect(grammar.productions["reserved_word"].map { Set($0.terminals) } == Parser.reservedWords)
        #expect(grammar.productions["join_word"].map { Set($0.terminals) } == Parser.joinWords)
        #expect(grammar.productions["interval_unit"].map { Set($0.terminals) } == Parser.intervalUnits)
        // Every keyword of the grammar is used by some example.
        let exampleWords = Set(Self.examples.values.joined().flatMap { example in
            example.uppercased().split { !($0.isLetter || $0 == "_") }.map(String.init)
        })
        let keywords = Set(grammar.productions.values.flatMap(\.terminals).filter { $0.first?.isLetter == true })
        #expect(keywords.subtracting(exampleWords).isEmpty, "keywords without an example: \(keywords.subtracting(exampleWords).sorted())")
    }
}

/// A W3C-style EBNF file read just enough to check it: production names, the names each production
/// refers to, and the quoted terminals it contains.
struct Grammar {
    struct Production {
        var references: [String] = []
        var terminals: [String] = []
    }

    var productions: [String: Production] = [:]
    /// Production names in the order they are defined.
    var order: [String] = []

    init(_ text: String) throws {
        var current: String?
        var symbols = Grammar.symbols(of: text)
        var symbolIndex = 0
        while symbolIndex < symbols.count {
            let symbol = symbols[symbolIndex]
            if symbolIndex + 1 < symbols.count, symbols[symbolIndex + 1] == .define, case .name(let name) = symbol {
                guard productions[name] == nil else { throw GrammarError(message: "\(name) is defined twice") }
                productions[name] = Production()
                order.append(name)
                current = name
                symbolIndex += 2
                continue
            }
            guard let current else { throw GrammarError(message: "text before the first production") }
            switch symbol {
            case .name(let name): productions[current]?.references.append(name)
            case .terminal(let terminal): productions[current]?.terminals.append(terminal)
            case .define: throw GrammarError(message: "::= without a production name")
            }
            symbolIndex += 1
        }
        symbols.removeAll()
    }

    enum Symbol: Equatable {
        case name(String), terminal(String), define
    }

    struct GrammarError: Error {
        var message: String
    }

    /// Names, quoted terminals and `::=`, skipping comments (which nest), character sets and `#x…` codes.
    static func symbols(of text: String) -> [Symbol] {
        let characters = Array(text)
        var symbols: [Symbol] = []
        var position = 0
        while position < characters.count {
            let character = characters[position]
            if character == "/", position + 1 < characters.count, characters[position + 1] == "*" {
                var nesting = 0
                repeat {
                    if characters[position] == "/", position + 1 < characters.count, characters[position + 1] == "*" {
                        nesting += 1
                        position += 2
                    } else if characters[position] == "*", position + 1 < characters.count, characters[position + 1] == "/" {
                        nesting -= 1
                        position += 2
                    } else {
                        position += 1
                    }
                } while nesting > 0 && position < characters.count
            } else if character == "'" || character == "\"" {
                var end = position + 1
                while end < characters.count, characters[end] != character { end += 1 }
                symbols.append(.terminal(String(characters[(position + 1)..<min(end, characters.count)])))
                position = end + 1
            } else if character == "[" {
                while position < characters.count, characters[position] != "]" { position += 1 }
                position += 1
            } else if character == "#" {
                position += 1
                while position < characters.count, characters[position].isHexDigit || characters[position] == "x" { position += 1 }
            } else if character == ":", position + 2 < characters.count, characters[position + 1] == ":", characters[position + 2] == "=" {
                symbols.append(.define)
                position += 3
            } else if character.isLetter || character == "_" {
                var end = position
                while end < characters.count, characters[end].isLetter || characters[end].isNumber || characters[end] == "_" { end += 1 }
                symbols.append(.name(String(characters[position..<end])))
                position = end
            } else {
                position += 1
            }
        }
        return symbols
    }
}
