import ArgumentParser
import RunGenerator

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write synthetic runs in the interchange format (runs.jsonl, history.jsonl), the same for the same seed.",
        discussion: "runql generate --runs 1000 --steps 100 --seed 1 --out data/small && runql import jsonl data/small/runs.jsonl data/small/history.jsonl"
    )

    @Option(help: "How many runs.")
    var runs: Int

    @Option(help: "How many history steps a finished run logs (runs that ended early log fewer).")
    var steps: Int

    @Option(help: "The seed.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("The directory to write into.", valueName: "dir"))
    var out: String

    func validate() throws {
        if runs < 0 || steps < 1 { throw ValidationError("--runs must be at least 0 and --steps at least 1") }
    }

    func run() throws {
        let output = try InterchangeGenerator(runs: runs, steps: steps, seed: seed).write(to: out)
        Console.info("wrote \(runs) runs to \(output.runsPath) and \(output.historyLines) steps to \(output.historyPath)")
    }
}
