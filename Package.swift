// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "runql",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "runql", targets: ["runql"]),
        .library(name: "RunStore", targets: ["RunStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // The store on disk: format, JSON, writers, readers, importers.
        .target(
            name: "RunStore",
            dependencies: ["CCrypto", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        // OpenSSL's SHA-256 for the artifact blob store (Debian: libssl-dev; .ci/run installs it when missing).
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", providers: [.apt(["libssl-dev"])]),
        // The query language's front end: spans, diagnostics, tokens, lexer, AST, parser. No dependencies.
        .target(name: "QuerySyntax"),
        // The columnar index: values, typed columns with validity bitmaps, the runs and history tables.
        .target(name: "ColumnIndex", dependencies: ["RunStore"]),
        // Binder, plans, operators and functions: RunQL text in, results out.
        .target(name: "QueryEngine", dependencies: ["QuerySyntax", "ColumnIndex", "RunStore"]),
        // Output formats for query results.
        .target(name: "ResultFormat", dependencies: ["QueryEngine", "ColumnIndex"]),
        // GNU readline for the shell (Debian: libreadline-dev; .ci/run installs it when missing).
        .systemLibrary(name: "CReadline", path: "Sources/CReadline", providers: [.apt(["libreadline-dev"])]),
        // readline's C globals behind functions (Swift 6 strict concurrency will not touch them).
        .target(name: "ReadlineShim", dependencies: ["CReadline"], linkerSettings: [.linkedLibrary("readline")]),
        // The seeded generator of interchange data (tests, benchmarks, the sample store).
        .target(name: "RunGenerator", dependencies: ["RunStore"]),
        // The system's SQLite 3 (Debian: libsqlite3-dev; .ci/run installs it when missing).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // `runql import mlflow`: MLflow file stores (mlruns/) and SQLite databases (mlflow.db).
        .target(name: "MLflowImport", dependencies: ["RunStore", "CSQLite"]),
        // Importer of W&B run folders: the .wandb transaction log (framing, protobuf by hand) into the store.
        .target(name: "WandbImport", dependencies: ["RunStore", .product(name: "OrderedCollections", package: "swift-collections")]),
        // The command line: argument parsing and the commands.
        .target(
            name: "RunQLCLI",
            dependencies: [
                "RunStore",
                "RunGenerator",
                "WandbImport",
                "QuerySyntax",
                "QueryEngine",
                "ResultFormat",
                "ReadlineShim",
                "MLflowImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "runql", dependencies: ["RunQLCLI"]),
        // The query engine behind a line protocol, for Benchmarks/bench.py (not installed).
        .executableTarget(name: "runql-bench", dependencies: ["QueryEngine", "ColumnIndex", "RunStore"], path: "Benchmarks/RunQLBench"),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "QuerySyntaxTests", dependencies: ["QuerySyntax"]),
        .testTarget(name: "ResultFormatTests", dependencies: ["ResultFormat", "QueryEngine", "ColumnIndex"]),
        // The golden files (sqllogictest-style) of the query engine, over the sample store and fixture stores.
        .testTarget(
            name: "QueryEngineTests",
            dependencies: ["QueryEngine", "QuerySyntax", "ColumnIndex", "RunStore", "TestSupport"],
            exclude: ["golden", "stores", "samples", "oracle"]
        ),
        .testTarget(name: "RunStoreTests", dependencies: ["RunStore", "RunGenerator", "TestSupport"]),
        // The MLflow importer against fixtures/ (an mlruns/ and an mlflow.db) and MLflow's own reference answers.
        .testTarget(
            name: "MLflowImportTests",
            dependencies: ["MLflowImport", "CSQLite", "RunStore", "QueryEngine", "ColumnIndex", "TestSupport"],
            exclude: ["fixtures"]
        ),
        .testTarget(name: "WandbImportTests", dependencies: ["WandbImport", "RunStore", "TestSupport"], exclude: ["fixtures"]),
        // Runs the built `runql` binary in separate processes: end-to-end, concurrency and crash tests.
        .testTarget(name: "RunQLCLITests", dependencies: ["runql", "RunStore", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
