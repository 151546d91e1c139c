import RunStore

#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on stderr for long work (importing, building the index), drawn only when stderr
/// is a terminal; piped or redirected, it prints nothing.
///
/// ```
/// importing  [##########..........]  48%  2,412 / 5,000 runs
/// ```
/// Redraws at most ten times a second; `finish()` erases the line so the summary that follows
/// starts clean.
final class ProgressBar {
    private let label: String
    private let unit: String
    private let enabled: Bool
    private var lastDraw = 0.0
    private var drawn = false

    init(_ label: String, unit: String = "", enabled: Bool = isatty(2) == 1) {
        self.label = label
        self.unit = unit
        self.enabled = enabled
    }

    /// Reports that `done` of `total` units are complete (`total` 0: unknown, shows a count only).
    func update(_ done: Int64, of total: Int64) {
        guard enabled else { return }
        let now = ExecRun.monotonicSeconds()
        if drawn, now - lastDraw < 0.1, done < total { return }
        lastDraw = now
        drawn = true
        Self.write("\r\u{1B}[K" + Self.line(label: label, unit: unit, done: done, total: total))
    }

    /// Erases the bar.
    func finish() {
        guard enabled, drawn else { return }
        drawn = false
        Self.write("\r\u{1B}[K")
    }

    /// The text of one bar (without the carriage return), e.g. `label  [####......]  40%  4 / 10 runs`.
    static func line(label: String, unit: String, done: Int64, total: Int64, width: Int = 20) -> String {
        let suffix = unit.isEmpty ? "" : " \(unit)"
        guard total > 0 else { return "\(label)  \(grouped(done))\(suffix)" }
        let fraction = min(1, max(0, Double(done) / Double(total)))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let percent = String(Int(fraction * 100))
        let padded = String(repeating: " ", count: max(0, 3 - percent.count)) + percent
        return "\(label)  [\(bar)] \(padded)%  \(grouped(done)) / \(grouped(total))\(suffix)"
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }

    private static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in try? FileIO.writeAll(2, UnsafeRawBufferPointer(bytes), path: "stderr") }
    }
}
