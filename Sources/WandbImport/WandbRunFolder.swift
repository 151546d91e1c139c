/// A run folder that W&B wrote: `offline-run-YYYYMMDD_HHMMSS-ID/` or `run-YYYYMMDD_HHMMSS-ID/`.
struct WandbRunFolder: Sendable {
    var path: String
    var runID: String
    /// `YYYYMMDD_HHMMSS`, local time of the start: orders the folders of a resumed run.
    var startStamp: String
    /// `run-<id>.wandb`, when present.
    var logPath: String?

    /// Reads the name of a folder; nil when it is not a run folder's name.
    init?(path: String) {
        let name = LocalFiles.baseName(path)
        let rest: Substring
        if name.hasPrefix("offline-run-") {
            rest = name.dropFirst("offline-run-".count)
        } else if name.hasPrefix("run-") {
            rest = name.dropFirst("run-".count)
        } else {
            return nil
        }
        let stamp = rest.prefix(15)
        guard stamp.count == 15, rest.count > 16, rest[rest.index(rest.startIndex, offsetBy: 15)] == "-" else { return nil }
        for (offset, character) in stamp.enumerated() {
            let ok = offset == 8 ? character == "_" : character.isASCII && character.isNumber
            guard ok else { return nil }
        }
        self.path = path
        self.runID = String(rest.dropFirst(16))
        self.startStamp = String(stamp)
        let expected = "\(path)/run-\(runID).wandb"
        if LocalFiles.size(expected) != nil {
            logPath = expected
        } else {
            logPath = LocalFiles.list(path).first { $0.hasPrefix("run-") && $0.hasSuffix(".wandb") }.map { "\(path)/\($0)" }
        }
    }
}

/// One W&B run to import: its id and every folder that holds part of it (a resumed run has
/// several, with the same id), oldest first.
public struct WandbRunSource: Sendable {
    public var runID: String
    var folders: [WandbRunFolder]

    /// The folders' paths, oldest first.
    public var paths: [String] { folders.map(\.path) }
}

/// Finds the runs under the paths a user gave.
enum WandbDiscovery {
    /// Each path is a run folder, a `wandb/` folder holding run folders, or a folder with a `wandb/`
    /// subfolder. Symbolic links inside a folder (`latest-run`) are skipped, so no run shows up
    /// twice; folders with the same run id are one run. Throws when a path holds no run at all.
    static func runs(in paths: [String]) throws -> [WandbRunSource] {
        var folders: [WandbRunFolder] = []
        var seen: Set<String> = []
        func add(_ folder: WandbRunFolder) {
            if seen.insert(folder.path).inserted { folders.append(folder) }
        }
        for given in paths {
            let path = LocalFiles.absolute(given.count > 1 && given.hasSuffix("/") ? String(given.dropLast()) : given)
            guard LocalFiles.isDirectory(path) else {
                throw WandbImportError(path: given, LocalFiles.kind(path) == nil ? "no such folder" : "not a folder (give a wandb/ folder or a run folder)")
            }
            if let folder = WandbRunFolder(path: path) {
                add(folder)
                continue
            }
            var found = false
            for container in [path, "\(path)/wandb"] where LocalFiles.isDirectory(container) {
                for name in LocalFiles.list(container) {
                    let child = "\(container)/\(name)"
                    guard LocalFiles.kind(child) == .directory, let folder = WandbRunFolder(path: child) else { continue }
                    add(folder)
                    found = true
                }
                if found { break }
            }
            if !found {
                throw WandbImportError(path: given, "holds no W&B run folders (offline-run-…/ or run-…/)")
            }
        }
        var byID: [String: [WandbRunFolder]] = [:]
        var order: [String] = []
        for folder in folders {
            if byID[folder.runID] == nil { order.append(folder.runID) }
            byID[folder.runID, default: []].append(folder)
        }
        return order.map { id in
            WandbRunSource(runID: id, folders: (byID[id] ?? []).sorted { ($0.startStamp, $0.path) < ($1.startStamp, $1.path) })
        }
    }
}
