import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Scans split over the machine's cores when the input is large enough to pay for the threads.
enum Parallel {
    /// Rows per part below which one thread does it all.
    static let minimumRowsPerPart = 1 << 20

    static let cores: Int = max(1, min(8, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Contiguous ranges covering `0..<count`, each but the first starting on a multiple of 64 (a
    /// whole validity word): one per core for a large count, else just one.
    static func ranges(_ count: Int) -> [Range<Int>] {
        let parts = min(cores, count / minimumRowsPerPart)
        guard parts > 1 else { return [0..<count] }
        var bounds = [0]
        for part in 1..<parts { bounds.append((count * part / parts) & ~63) }
        bounds.append(count)
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }

    /// `body` on each range, concurrently; the results in range order.
    @inline(__always)
    static func map<Result>(_ ranges: [Range<Int>], _ body: (Range<Int>) -> Result) -> [Result] {
        if ranges.count == 1 { return [body(ranges[0])] }
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: ranges.count)
        results.initialize(repeating: nil)
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: ranges.count) { part in results[part] = body(ranges[part]) }
        }
        return results.compactMap { $0 }
    }
}
