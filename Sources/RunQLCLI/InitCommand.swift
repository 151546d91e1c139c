import ArgumentParser
import RunStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an empty store.",
        discussion: "PATH defaults to --store, else $RUNQL_STORE, else ./.runql."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("Where to create the store.", valueName: "path"))
    var path: String?

    func run() throws {
        let target = path ?? storeOptions.path
        try RunStore.create(at: target)
        Console.info("Created an empty runql store at \(target)")
    }
}
