#if canImport(Glibc)
import Glibc
#endif
import RunStore

/// Writes the interchange format (`runs.jsonl`, `history.jsonl`) at any size, the same bytes for
/// the same seed: the data behind the tests, the benchmarks and the sample store.
///
/// What it models: ~5 projects; ~40 nested config leaves (some absent, `learning_rate` now and
/// then a string); ~20 summary metrics with `/` in their names; 8 history metrics, the 3 validation
/// ones every 10th step; ~0.1% NaN values; a few diverged runs (loss to NaN/Infinity); states
/// mostly `finished`, with failed, crashed, killed and running runs cut short.
public struct InterchangeGenerator {
    public var runs: Int
    public var steps: Int
    public var seed: UInt64

    public init(runs: Int, steps: Int, seed: UInt64) {
        self.runs = runs
        self.steps = steps
        self.seed = seed
    }

    public struct Output: Sendable {
        public var runsPath: String
        public var historyPath: String
        public var historyLines: Int
    }

    /// Writes `runs.jsonl` and `history.jsonl` into `directory` (created when missing).
    public func write(to directory: String) throws -> Output {
        try FileIO.makeDirectories(directory)
        let runsFile = try BufferedFile(path: "\(directory)/runs.jsonl")
        let historyFile = try BufferedFile(path: "\(directory)/history.jsonl")
        var random = SplitMix64(seed: seed)
        var usedIDs: Set<String> = []
        var historyLines = 0
        for runIndex in 0..<runs {
            var id: String
            repeat { id = random.identifier() } while !usedIDs.insert(id).inserted
            let run = SyntheticRun(index: runIndex, of: runs, id: id, plannedSteps: steps, random: &random)
            try runsFile.write(JSONWriter.compact(.object(run.record)))
            try runsFile.write("\n")
            historyLines += try run.writeHistory(to: historyFile, random: &random)
        }
        try runsFile.close()
        try historyFile.close()
        return Output(runsPath: "\(directory)/runs.jsonl", historyPath: "\(directory)/history.jsonl", historyLines: historyLines)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the same numbers on
/// every platform, which `SystemRandomNumberGenerator` does not promise.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    /// Roughly standard normal (sum of uniforms; good enough for noise, and cheap).
    mutating func normal() -> Double { (unit() + unit() + unit() + unit() - 2) * 1.7320508 }

    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    mutating func pick<Element>(_ elements: [Element]) -> Element { elements[Int(next() % UInt64(elements.count))] }

    mutating func identifier() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return String(decoding: (0..<8).map { _ in alphabet[Int(next() % 36)] }, as: UTF8.self)
    }
}

/// Writes through a large buffer with `fwrite`.
final class BufferedFile {
    private let path: String
    private var file: UnsafeMutablePointer<FILE>?

    init(path: String) throws {
        self.path = path
        guard let file = fopen(path, "w") else {
            throw StoreError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        self.file = file
        setvbuf(file, nil, _IOFBF, 1 << 20)
    }

    func write(_ text: String) throws {
        var text = text
        let ok = text.withUTF8 { bytes in fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count }
        if !ok { throw StoreError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    func close() throws {
        guard let file else { return }
        self.file = nil
        if fclose(file) != 0 { throw StoreError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        if let file { fclose(file) }
    }
}
