import Dispatch

/// Appends batches of encoded history lines to their runs on a thread of its own, one batch at a
/// time and in the order submitted, so that the importer scans the next lines while the last ones
/// are written.
///
/// Each run's lines still go out as `HistoryWriter.appendEncoded` writes them (whole, under the
/// file's lock), in the order the importer produced them; only the moment of the write moves.
/// After a failed append nothing more is written, and the error is thrown to the importer at its
/// next `submit` or at `waitUntilWritten`.
final class HistoryAppender: @unchecked Sendable {
    private let store: RunStore
    private let queue = DispatchQueue(label: "runql.import.history-appender")
    /// Taken by `submit` and given back when the batch is written: one batch in flight at most,
    /// which bounds the memory held and orders every access to `failure` (written on the queue
    /// before the signal, read by the importer after the wait).
    private let idle = DispatchSemaphore(value: 1)
    private var failure: (any Error)?

    init(store: RunStore) {
        self.store = store
    }

    /// Queues a batch of (run, lines) once the previous batch is written; throws the error of an
    /// earlier batch, if any.
    func submit(_ batch: [(RunLocation, [UInt8])]) throws {
        idle.wait()
        if let failure {
            idle.signal()
            throw failure
        }
        queue.async { [self] in
            defer { idle.signal() }
            do {
                for (location, lines) in batch {
                    try HistoryWriter(store: store, location: location).appendEncoded(lines, lastStep: nil)
                }
            } catch {
                failure = error
            }
        }
    }

    /// Waits until every batch submitted is written; throws the first error.
    func waitUntilWritten() throws {
        idle.wait()
        defer { idle.signal() }
        if let failure { throw failure }
    }
}
