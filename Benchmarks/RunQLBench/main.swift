// runql-bench: the query engine behind a line protocol, for Benchmarks/bench.py.
//
// Starts by building the index of --store (with --cache: loading it from the store's index cache)
// and prints {"load_seconds": …}. Then reads one JSON
// object per line on stdin, {"sql": "…"}, runs it, and answers with one JSON line:
// {"seconds": …, "rows": …, "digest": [[…], …]} (the first 50 rows, values as text), or
// {"error": "…"}. Timing covers the query alone (parse, bind, execute), not printing.
import ColumnIndex
import Foundation
import QueryEngine
import RunStore

func reply(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object), let text = String(data: data, encoding: .utf8) else { return }
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

let arguments = CommandLine.arguments
guard let storeFlag = arguments.firstIndex(of: "--store"), storeFlag + 1 < arguments.count else {
    FileHandle.standardError.write(Data("usage: runql-bench --store PATH [--cache]\n".utf8))
    exit(2)
}
let started = Date()
let engine: Engine
do {
    let store = try RunStore.open(at: arguments[storeFlag + 1])
    // --cache: the index as runql itself gets it (the store's index cache, columns read on first use).
    engine = arguments.contains("--cache") ? Engine(cachedIndexOf: store) : Engine(store: store)
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
reply(["load_seconds": Date().timeIntervalSince(started), "runs": engine.index.runs.count, "history_rows": engine.index.history.count])

while let line = readLine() {
    guard let data = line.data(using: .utf8), let request = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let sql = request["sql"] as? String
    else {
        reply(["error": "expected {\"sql\": …}"])
        continue
    }
    do {
        let clock = ContinuousClock.now
        var result: QueryResult?
        for statement in try engine.parse(sql) { result = try engine.execute(statement, source: sql) }
        let elapsed = ContinuousClock.now - clock
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rows = result.map { result in
            (0..<min(result.rowCount, 50)).map { row in (0..<result.names.count).map { Render.text(result.value(row: row, column: $0)) } }
        } ?? []
        reply(["seconds": seconds, "rows": result?.rowCount ?? 0, "digest": rows])
    } catch {
        reply(["error": "\(error)"])
    }
}
