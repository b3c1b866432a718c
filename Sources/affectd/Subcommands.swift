import ArgumentParser

/// Every subcommand, in the order `affectd --help` lists them. Each lives in its own file.
enum AffectdSubcommands {
    static let all: [any ParsableCommand.Type] = [
        HTTPEchoCommand.self,
        ProbeCommand.self,
        FramesCommand.self,
        DecodeBenchCommand.self,
        BenchOpCommand.self,
        ModelCommand.self,
        DetectCommand.self,
        BenchNetCommand.self,
    ]
}
