import RunStore

/// One record of a W&B transaction log (`wandb_internal.Record`), decoded as far as an importer
/// needs; field numbers are those of wandb 0.31.0's descriptors, which 0.16.6 shares.
///
/// ```
/// Record  num=1  history=2 summary=3 output=4 config=5 artifact=8 output_raw=13 run=17 exit=18
///         header=21 use_artifact=25 environment=26   (others: skipped)
/// ```
enum WandbRecord {
    /// `HeaderRecord`: the writer's version (`0.31.0+…`; absent in 0.16.6).
    case header(producer: String?)
    case run(WandbRunRecord)
    /// `ConfigRecord`: items to set, then items to remove.
    case config(WandbItemChanges)
    /// `SummaryRecord`, same shape as a config change.
    case summary(WandbItemChanges)
    case history(WandbHistoryRecord)
    /// `RunExitRecord`: `exit_code` (absent = 0) and `runtime` in seconds.
    case exit(code: Int64, runtime: Int64)
    /// `OutputRecord` / `OutputRawRecord`: a piece of console text.
    case output(WandbConsoleText)
    case artifact(WandbArtifactRecord)
    /// `UseArtifactRecord`: `id` (server id), `type`, `name` (`name:v3`).
    case useArtifact(id: String, type: String, name: String)
    /// `EnvironmentRecord` (0.31): where and how the run was started.
    case environment(WandbEnvironment)
    /// Any other record type (stats, telemetry, files, metric, final, footer, …), by field number.
    case other(Int)

    /// Decodes a record's payload; throws on malformed protobuf (with the offset inside the payload).
    static func decode(_ payload: ArraySlice<UInt8>) throws -> WandbRecord {
        var result: WandbRecord = .other(0)
        try ProtoWire.forEachField(in: payload) { field throws(ProtoError) in
            switch field.number {
            case 2: result = .history(try WandbHistoryRecord(try field.message()))
            case 3: result = .summary(try WandbItemChanges(try field.message()))
            case 4, 13: result = .output(try WandbConsoleText(try field.message()))
            case 5: result = .config(try WandbItemChanges(try field.message()))
            case 8: result = .artifact(try WandbArtifactRecord(try field.message()))
            case 17: result = .run(try WandbRunRecord(try field.message()))
            case 18:
                var code: Int64 = 0
                var runtime: Int64 = 0
                try ProtoWire.forEachField(in: try field.message()) { inner throws(ProtoError) in
                    switch inner.number {
                    case 1: code = Int64(try inner.int32())
                    case 2: runtime = Int64(try inner.int32())
                    default: break
                    }
                }
                result = .exit(code: code, runtime: runtime)
            case 21:
                var producer: String?
                try ProtoWire.forEachField(in: try field.message()) { inner throws(ProtoError) in
                    guard inner.number == 1 else { return }
                    try ProtoWire.forEachField(in: try inner.message()) { version throws(ProtoError) in
                        if version.number == 1 { producer = try version.string() }
                    }
                }
                result = .header(producer: producer)
            case 25:
                var id = "", type = "", name = ""
                try ProtoWire.forEachField(in: try field.message()) { inner throws(ProtoError) in
                    switch inner.number {
                    case 1: id = try inner.string()
                    case 2: type = try inner.string()
                    case 3: name = try inner.string()
                    default: break
                    }
                }
                result = .useArtifact(id: id, type: type, name: name)
            case 26: result = .environment(try WandbEnvironment(try field.message()))
            case 1, 16, 19, 200: break  // num, control, uuid, _info
            default: if case .other = result { result = .other(field.number) }
            }
        }
        return result
    }
}

/// A key path and its JSON value: a `ConfigItem`, `SummaryItem` or `HistoryItem`.
///
/// The path is `nested_key` when present, else `[key]`; it is never split on `/` or `.`.
struct WandbItem {
    var path: [String]
    /// The value's JSON text (`value_json`), or an already typed value (`HistoryItem`'s oneof).
    var valueJSON: String?
    var typedValue: JSONValue?

    /// `key=1 nested_key=2 value_json=16`, and `HistoryItem`'s typed values
    /// `none=3 boolean=4 integer=5 (sint64) number=6 text=7 json=8`.
    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        var key = ""
        var nested: [String] = []
        var valueJSON: String?
        var typed: JSONValue?
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: key = try field.string()
            case 2: nested.append(try field.string())
            case 16: valueJSON = try field.string()
            case 3: typed = .null
            case 4: typed = .bool(try field.bool())
            case 5: typed = .int(try field.sint64())
            case 6: typed = .double(try field.double())
            case 7: typed = .string(try field.string())
            case 8: valueJSON = try field.string()
            default: break
            }
        }
        path = nested.isEmpty ? [key] : nested
        self.valueJSON = valueJSON
        typedValue = typed
    }

    /// The item's value; W&B's JSON has `NaN`/`Infinity` tokens, which runql's parser reads.
    func value() throws -> JSONValue {
        if let valueJSON { return try JSONParser.parse(valueJSON) }
        return typedValue ?? .null
    }
}

/// `ConfigRecord` / `SummaryRecord`: `update=1`, `remove=2` (repeated items).
struct WandbItemChanges {
    var updates: [WandbItem] = []
    var removals: [WandbItem] = []

    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: updates.append(try WandbItem(try field.message()))
            case 2: removals.append(try WandbItem(try field.message()))
            default: break
            }
        }
    }

    init() {}
}

/// `HistoryRecord`: `item=1` (repeated), `step=2 {num=1}`.
struct WandbHistoryRecord {
    var items: [WandbItem] = []
    /// `step.num`; nil when the step field is absent (0.16.6 with an explicit `step=`).
    var step: Int64?

    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: items.append(try WandbItem(try field.message()))
            case 2:
                var number: Int64 = 0
                try ProtoWire.forEachField(in: try field.message()) { inner throws(ProtoError) in
                    if inner.number == 1 { number = try inner.int64() }
                }
                step = number
            default: break
            }
        }
    }
}

/// `RunRecord`: the run's identity and descriptive fields.
struct WandbRunRecord {
    var runID = ""
    var entity = ""
    var project = ""
    var config = WandbItemChanges()
    var summary = WandbItemChanges()
    var group = ""
    var jobType = ""
    var displayName = ""
    var notes = ""
    var tags: [String] = []
    var sweepID = ""
    var host = ""
    /// Seconds since the epoch.
    var startTime: Double?
    var resumed = false
    var gitRemote = ""
    var gitCommit = ""

    /// `run_id=1 entity=2 project=3 config=4 summary=5 run_group=6 job_type=7 display_name=8 notes=9
    /// tags=10 sweep_id=12 host=13 start_time=17 resumed=18 git=21{remote_url=1, commit=2}`.
    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: runID = try field.string()
            case 2: entity = try field.string()
            case 3: project = try field.string()
            case 4: config = try WandbItemChanges(try field.message())
            case 5: summary = try WandbItemChanges(try field.message())
            case 6: group = try field.string()
            case 7: jobType = try field.string()
            case 8: displayName = try field.string()
            case 9: notes = try field.string()
            case 10: tags.append(try field.string())
            case 12: sweepID = try field.string()
            case 13: host = try field.string()
            case 17: startTime = try Self.timestamp(try field.message())
            case 18: resumed = try field.bool()
            case 21:
                try ProtoWire.forEachField(in: try field.message()) { inner throws(ProtoError) in
                    switch inner.number {
                    case 1: gitRemote = try inner.string()
                    case 2: gitCommit = try inner.string()
                    default: break
                    }
                }
            default: break
            }
        }
    }

    /// `google.protobuf.Timestamp {seconds=1, nanos=2}` as seconds since the epoch.
    static func timestamp(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Double {
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: seconds = try field.int64()
            case 2: nanos = Int64(try field.int32())
            default: break
            }
        }
        return Double(seconds) + Double(nanos) / 1e9
    }
}

/// `OutputRecord` / `OutputRawRecord`: `output_type=1` (0 stderr, 1 stdout), `line=3`.
struct WandbConsoleText {
    var isStandardOutput = false
    var text = ""

    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: isStandardOutput = try field.int64() == 1
            case 3: text = try field.string()
            default: break
            }
        }
    }
}

/// `EnvironmentRecord` (0.31): `os=1 python=2 args=5 program=6 root=11 host=12 username=13 executable=14`.
struct WandbEnvironment {
    var os = ""
    var python = ""
    var args: [String] = []
    var program = ""
    var root = ""
    var host = ""
    var username = ""
    var executable = ""

    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: os = try field.string()
            case 2: python = try field.string()
            case 5: args.append(try field.string())
            case 6: program = try field.string()
            case 11: root = try field.string()
            case 12: host = try field.string()
            case 13: username = try field.string()
            case 14: executable = try field.string()
            default: break
            }
        }
    }

    init() {}

    /// Fills the fields this one lacks from `other` (0.31 splits the environment over two records).
    mutating func merge(_ other: WandbEnvironment) {
        if os.isEmpty { os = other.os }
        if python.isEmpty { python = other.python }
        if args.isEmpty { args = other.args }
        if program.isEmpty { program = other.program }
        if root.isEmpty { root = other.root }
        if host.isEmpty { host = other.host }
        if username.isEmpty { username = other.username }
        if executable.isEmpty { executable = other.executable }
    }
}

/// `ArtifactRecord`: one logged artifact version, with its manifest.
struct WandbArtifactRecord {
    var type = ""
    var name = ""
    /// Hex MD5 of the manifest: equal digests mean equal content.
    var digest = ""
    var description = ""
    /// A JSON object, as text.
    var metadata = ""
    var aliases: [String] = []
    var ttlSeconds: Int64?
    var entries: [WandbManifestEntry] = []

    /// `type=4 name=5 digest=6 description=7 metadata=8 aliases=11 manifest=12 ttl_duration_seconds=18`.
    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 4: type = try field.string()
            case 5: name = try field.string()
            case 6: digest = try field.string()
            case 7: description = try field.string()
            case 8: metadata = try field.string()
            case 11: aliases.append(try field.string())
            case 12:
                // ArtifactManifest: contents=4 (repeated ArtifactManifestEntry).
                try ProtoWire.forEachField(in: try field.message()) { inner throws(ProtoError) in
                    if inner.number == 4 { entries.append(try WandbManifestEntry(try inner.message())) }
                }
            case 18:
                let seconds = try field.int64()
                ttlSeconds = seconds > 0 ? seconds : nil
            default: break
            }
        }
    }
}

/// `ArtifactManifestEntry`: `path=1 digest=2 (base64 MD5) ref=3 size=4 local_path=6`.
struct WandbManifestEntry {
    var path = ""
    var digest = ""
    var reference = ""
    var size: Int64 = 0
    var localPath = ""

    init(_ bytes: ArraySlice<UInt8>) throws(ProtoError) {
        try ProtoWire.forEachField(in: bytes) { field throws(ProtoError) in
            switch field.number {
            case 1: path = try field.string()
            case 2: digest = try field.string()
            case 3: reference = try field.string()
            case 4: size = try field.int64()
            case 6: localPath = try field.string()
            default: break
            }
        }
    }
}
