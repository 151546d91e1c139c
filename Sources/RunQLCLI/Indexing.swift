import QueryEngine
import RunStore

extension Engine {
    /// An engine over `store` through its index cache, with a progress bar on stderr (a terminal
    /// only) while runs are read: every run on a cold start, the changed ones on a refresh.
    static func indexing(_ store: RunStore) -> Engine {
        let bar = ProgressBar("indexing", unit: "runs")
        let engine = Engine(cachedIndexOf: store) { done, total in bar.update(Int64(done), of: Int64(total)) }
        bar.finish()
        return engine
    }
}
