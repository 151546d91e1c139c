import Foundation
import Testing

/// The interactive shell, driven through a real terminal: tmux runs `runql` in a pseudo-terminal,
/// `send-keys` types, `capture-pane` reads the screen.
@Suite(.serialized) struct ShellTests {
    /// One tmux server (its own socket) running one `runql` shell.
    final class Terminal {
        let socket = "runql-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        init(historyPath: String, store: String = QueryCommandTests.sampleStore) throws {
            let command = "RUNQL_HISTORY=\(historyPath) \(CLI.binary) --store \(store); sleep 60"
            try tmux(["new-session", "-d", "-s", "shell", "-x", "150", "-y", "50", command])
            _ = waitFor { $0.contains("runql>") }
        }

        deinit {
            _ = try? tmux(["kill-server"])
        }

        /// Runs tmux to completion (with posix_spawn and waitpid: the server it forks must not
        /// hold anything the test waits on); returns what it printed when `capture`.
        @discardableResult
        func tmux(_ arguments: [String], capture: Bool = false) throws -> String {
            let outputPath = NSTemporaryDirectory() + "/\(socket)-\(UInt32.random(in: 0...UInt32.max)).out"
            defer { unlink(outputPath) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, capture ? outputPath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            // The tmux server lives on: it must not inherit the pipes other tests are reading
            // (they would never see end-of-file). glibc ignores closing descriptors that are not open.
            for descriptor in 3..<1024 { posix_spawn_file_actions_addclose(&actions, Int32(descriptor)) }
            let argv = (["tmux", "-L", socket] + arguments).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            // Default signal handling and an empty mask for tmux and the shell it starts, whatever
            // the test runner blocks or ignores.
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var all = sigset_t()
            sigfillset(&all)
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigdefault(&attributes, &all)
            posix_spawnattr_setsigmask(&attributes, &none)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
            var pid: pid_t = 0
            guard posix_spawnp(&pid, "tmux", &actions, &attributes, argv, environ) == 0 else { throw CocoaError(.executableNotLoadable) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            return capture ? ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "") : ""
        }

        /// Types text literally (tmux would take a `;` as a command separator: escaped).
        func type(_ text: String) throws {
            try tmux(["send-keys", "-t", "shell", "-l", text.replacingOccurrences(of: ";", with: "\\;")])
        }

        func press(_ key: String) throws {
            try tmux(["send-keys", "-t", "shell", key])
        }

        var screen: String { (try? tmux(["capture-pane", "-t", "shell", "-p"], capture: true)) ?? "" }

        /// Waits (up to 10 s) until the screen satisfies `test`; returns the screen.
        func waitFor(_ test: (String) -> Bool) -> String {
            let deadline = Date().addingTimeInterval(10)
            var current = screen
            while !test(current), Date() < deadline {
                usleep(50_000)
                current = screen
            }
            return current
        }
    }

    static var tmuxAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/tmux")
    }

    @Test func aMultiLineStatementRunsAtItsSemicolon() throws {
        try #require(Self.tmuxAvailable, "tmux is needed (.ci/run installs it)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let terminal = try Terminal(historyPath: directory.path + "/history")
        try terminal.type("SELECT name,")
        try terminal.press("Enter")
        // (tmux trims trailing spaces from captured lines)
        #expect(terminal.waitFor { $0.contains("   ...>") }.contains("   ...>"))
        try terminal.type("  val_f1 FROM runs ORDER BY val_f1 DESC LIMIT 2;")
        try terminal.press("Enter")
        let screen = terminal.waitFor { $0.contains("proud-breeze-58") }
        #expect(screen.contains("sunny-dew-85") && screen.contains("proud-breeze-58"))
        #expect(screen.contains("│ name            │ val_f1   │"))
    }

    @Test func completionOfAQuotedSummaryKey() throws {
        try #require(Self.tmuxAvailable, "tmux is needed (.ci/run installs it)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let terminal = try Terminal(historyPath: directory.path + "/history")
        try terminal.type("SELECT summary.\"val/")
        try terminal.press("Tab")
        try terminal.press("Tab")
        let listed = terminal.waitFor { $0.contains("summary.\"val/precision\"") }
        #expect(listed.contains("summary.\"val/f1\"") && listed.contains("summary.\"val/loss\""))
        try terminal.type("f")
        try terminal.press("Tab")
        try terminal.type("FROM runs LIMIT 1;")
        try terminal.press("Enter")
        let screen = terminal.waitFor { $0.contains("│ val/f1") }
        #expect(screen.contains("SELECT summary.\"val/f1\" FROM runs LIMIT 1;"))
        #expect(screen.contains("│ val/f1   │"))
    }

    @Test func ctrlCClearsAHalfTypedStatement() throws {
        try #require(Self.tmuxAvailable, "tmux is needed (.ci/run installs it)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let terminal = try Terminal(historyPath: directory.path + "/history")
        try terminal.type("SELECT nope")
        try terminal.press("Enter")
        try terminal.type("FROM")
        try terminal.press("C-c")
        _ = terminal.waitFor { $0.contains("^C") }
        try terminal.type("SELECT 41 + 1 AS answer;")
        try terminal.press("Enter")
        let screen = terminal.waitFor { $0.contains("│     42 │") }
        #expect(screen.contains("│ answer │\n├────────┤\n│     42 │"))
        #expect(!screen.contains("Error"))
    }

    @Test func modeMarkdownAndDotCommands() throws {
        try #require(Self.tmuxAvailable, "tmux is needed (.ci/run installs it)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let terminal = try Terminal(historyPath: directory.path + "/history")
        try terminal.type(".mode markdown")
        try terminal.press("Enter")
        try terminal.type("SELECT state, count(*) AS n FROM runs GROUP BY state ORDER BY n DESC LIMIT 1;")
        try terminal.press("Enter")
        let screen = terminal.waitFor { $0.contains("| finished |") }
        #expect(screen.contains("| state | n |\n| --- | ---: |\n| finished |"))
        try terminal.type(".tables")
        try terminal.press("Enter")
        #expect(terminal.waitFor { $0.contains("| history |") }.contains("| runs |"))
        try terminal.type(".nope")
        try terminal.press("Enter")
        #expect(terminal.waitFor { $0.contains("unknown command") }.contains("unknown command .nope"))
    }

    @Test func historyIsKeptAcrossSessions() throws {
        try #require(Self.tmuxAvailable, "tmux is needed (.ci/run installs it)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let history = directory.path + "/history"
        do {
            let first = try Terminal(historyPath: history)
            try first.type("SELECT count(*) AS remembered")
            try first.press("Enter")
            try first.type("FROM runs;")
            try first.press("Enter")
            _ = first.waitFor { $0.contains("152") }
            try first.press("C-d")
            usleep(300_000)
        }
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        #expect(saved.contains("SELECT count(*) AS remembered FROM runs;"))
        let second = try Terminal(historyPath: history)
        try second.press("Up")
        let screen = second.waitFor { $0.contains("remembered FROM runs;") }
        #expect(screen.contains("runql> SELECT count(*) AS remembered FROM runs;"))
    }
}

extension ShellTests {
    @Test func runsWrittenWhileTheShellIsOpenArePickedUp() throws {
        try #require(Self.tmuxAvailable, "tmux is needed (.ci/run installs it)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.path + "/store"
        #expect(try CLI.run(["init", store]).status == 0)
        #expect(try CLI.run(["run", "start", "--store", store, "--project", "p", "--name", "first"]).status == 0)
        let terminal = try Terminal(historyPath: directory.path + "/history", store: store)
        try terminal.type("SELECT count(*) AS n FROM runs;")
        try terminal.press("Enter")
        _ = terminal.waitFor { $0.contains("│ 1 │") }
        #expect(try CLI.run(["run", "start", "--store", store, "--project", "p", "--name", "second"]).status == 0)
        try terminal.type("SELECT string_agg(name, '+' ORDER BY name) AS names FROM runs;")
        try terminal.press("Enter")
        #expect(terminal.waitFor { $0.contains("first+second") }.contains("│ first+second │"))
    }
}
