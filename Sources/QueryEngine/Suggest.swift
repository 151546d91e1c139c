/// "Did you mean …" candidates: the names nearest to what was written.
enum Suggest {
    /// Up to `limit` of `names` close to `written` (by edit distance, ignoring case), nearest first.
    static func candidates(for written: String, among names: [String], limit: Int = 3) -> [String] {
        let target = written.lowercased()
        let threshold = max(2, target.count / 3)
        var scored: [(name: String, distance: Int)] = []
        var seen: Set<String> = []
        for name in names where seen.insert(name).inserted {
            let lowered = name.lowercased()
            var distance = self.distance(lowered, target)
            if lowered.contains(target) || target.contains(lowered) { distance = min(distance, 1) }
            if distance <= threshold { scored.append((name, distance)) }
        }
        return scored.sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }.prefix(limit).map(\.name)
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let left = Array(a.unicodeScalars)
        let right = Array(b.unicodeScalars)
        if left.isEmpty { return right.count }
        if right.isEmpty { return left.count }
        var previous = Array(0...right.count)
        var current = [Int](repeating: 0, count: right.count + 1)
        for leftIndex in 1...left.count {
            current[0] = leftIndex
            for rightIndex in 1...right.count {
                let substitution = previous[rightIndex - 1] + (left[leftIndex - 1] == right[rightIndex - 1] ? 0 : 1)
                current[rightIndex] = min(previous[rightIndex] + 1, current[rightIndex - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[right.count]
    }
}
