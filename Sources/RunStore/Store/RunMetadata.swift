/// A run's identity and bookkeeping: the content of `run.json`.
///
/// Keys this version does not know are kept in `extra` and written back, so an older runql
/// never drops what a newer one recorded.
public struct RunMetadata: Sendable, Equatable {
    public var id: String
    public var entity: String
    public var project: String
    public var name: String?
    public var group: String?
    public var jobType: String?
    public var tags: [String] = []
    public var notes: String?
    /// `running`, `finished`, `failed`, `crashed` or `killed`.
    public var state: RunState = .running
    public var user: String?
    public var host: String?
    /// Seconds since the epoch.
    public var createdAt: Double?
    public var updatedAt: Double?
    /// Seconds the run took (or has taken so far).
    public var runtime: Double?
    public var gitCommit: String?
    public var command: [String]?
    public var workingDirectory: String?
    public var exitCode: Int64?
    public var extra: JSONObject = [:]

    public init(id: String, entity: String, project: String) {
        self.id = id
        self.entity = entity
        self.project = project
    }

    public var location: RunLocation { RunLocation(entity: entity, project: project, id: id) }
}

/// The life-cycle state of a run.
public enum RunState: String, Sendable, CaseIterable {
    case running, finished, failed, crashed, killed
}

extension RunMetadata {
    private static let knownKeys: Set<String> = [
        "id", "entity", "project", "name", "group", "job_type", "tags", "notes", "state", "user", "host",
        "created_at", "updated_at", "runtime", "git_commit", "command", "cwd", "exit_code",
    ]

    /// The `run.json` object, keys in a fixed order.
    public var json: JSONObject {
        var object: JSONObject = [
            "id": .string(id), "entity": .string(entity), "project": .string(project),
            "name": name.map(JSONValue.string) ?? .null,
            "group": group.map(JSONValue.string) ?? .null,
            "job_type": jobType.map(JSONValue.string) ?? .null,
            "tags": .array(tags.map(JSONValue.string)),
            "notes": notes.map(JSONValue.string) ?? .null,
            "state": .string(state.rawValue),
            "user": user.map(JSONValue.string) ?? .null,
            "host": host.map(JSONValue.string) ?? .null,
            "created_at": createdAt.map { .string(Timestamp.format($0)) } ?? .null,
            "updated_at": updatedAt.map { .string(Timestamp.format($0)) } ?? .null,
            "runtime": runtime.map(JSONValue.double) ?? .null,
            "git_commit": gitCommit.map(JSONValue.string) ?? .null,
            "command": command.map { .array($0.map(JSONValue.string)) } ?? .null,
            "cwd": workingDirectory.map(JSONValue.string) ?? .null,
            "exit_code": exitCode.map(JSONValue.int) ?? .null,
        ]
        for (key, value) in extra where object[key] == nil { object[key] = value }
        return object
    }

    /// Reads a `run.json` object; `source` names it in error messages.
    public init(json object: JSONObject, source: String) throws {
        func string(_ key: String) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            case let other?: throw StoreError("\(source): \"\(key)\" must be a string, not \(other.typeName)")
            }
        }
        func timestamp(_ key: String) throws -> Double? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?:
                guard let seconds = Timestamp.parse(text) else {
                    throw StoreError("\(source): \"\(key)\" is not an ISO-8601 timestamp: \(text)")
                }
                return seconds
            case let other?:
                guard let seconds = other.doubleValue else {
                    throw StoreError("\(source): \"\(key)\" must be a timestamp, not \(other.typeName)")
                }
                return seconds
            }
        }
        guard let id = try string("id"), let entity = try string("entity"), let project = try string("project") else {
            throw StoreError("\(source): \"id\", \"entity\" and \"project\" are required")
        }
        self.init(id: id, entity: entity, project: project)
        name = try string("name")
        group = try string("group")
        jobType = try string("job_type")
        notes = try string("notes")
        user = try string("user")
        host = try string("host")
        gitCommit = try string("git_commit")
        workingDirectory = try string("cwd")
        if let stateText = try string("state") {
            guard let parsed = RunState(rawValue: stateText) else {
                throw StoreError("\(source): unknown state \"\(stateText)\" (expected one of \(RunState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            state = parsed
        }
        tags = try Self.strings(object["tags"], key: "tags", source: source) ?? []
        command = try Self.strings(object["command"], key: "command", source: source)
        createdAt = try timestamp("created_at")
        updatedAt = try timestamp("updated_at")
        switch object["runtime"] {
        case nil, .null?: runtime = nil
        case let value?:
            guard let seconds = value.doubleValue else { throw StoreError("\(source): \"runtime\" must be a number") }
            runtime = seconds
        }
        switch object["exit_code"] {
        case nil, .null?: exitCode = nil
        case let value?:
            guard let code = value.integerValue else { throw StoreError("\(source): \"exit_code\" must be an integer") }
            exitCode = code
        }
        for (key, value) in object where !Self.knownKeys.contains(key) { extra[key] = value }
    }

    static func strings(_ value: JSONValue?, key: String, source: String) throws -> [String]? {
        switch value {
        case nil, .null?: return nil
        case .array(let elements)?:
            var strings: [String] = []
            for element in elements {
                guard case .string(let text) = element else {
                    throw StoreError("\(source): \"\(key)\" must be a list of strings")
                }
                strings.append(text)
            }
            return strings
        case let other?:
            throw StoreError("\(source): \"\(key)\" must be a list of strings, not \(other.typeName)")
        }
    }
}
