import ArgumentParser

/// Developer tools kept out of the shipped `affectd`: the timing commands the benchmarks/ scripts drive
/// and the bare HTTP server the HTTP tests and benchmark use.
@main
struct AffectdBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "affectd-bench",
        abstract: "affectd's developer tools: engine, network and decode timings; a bare HTTP echo server.",
        subcommands: [
            BenchOpCommand.self, BenchNetCommand.self, BenchVADCommand.self, BenchSoundscapeCommand.self, DecodeBenchCommand.self,
            HTTPEchoCommand.self,
        ]
    )
}
