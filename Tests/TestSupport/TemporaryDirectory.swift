import Foundation

/// A fresh directory under the system's temporary directory; `remove()` deletes it.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        var template = Array("\(NSTemporaryDirectory())/runql-test-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "mkdtemp failed"])
        }
        path = String(cString: created)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to the file `name` inside the directory and returns its path.
    public func write(_ text: String, to name: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return file
    }

    /// Every file below the directory (or below `root`), by relative path, with its content;
    /// hidden files and the store's `tmp/` and `index/` folders are left out.
    public static func files(under root: String) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = "\(root)/\(relative)"
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let name = (relative as NSString).lastPathComponent
            if isDirectory.boolValue || name.hasPrefix(".") || relative.hasPrefix("tmp/") || relative.hasPrefix("index/") { continue }
            files[relative] = FileManager.default.contents(atPath: path)
        }
        return files
    }
}
