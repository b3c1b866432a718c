import ArgumentParser

/// Every subcommand, in the order `affectd --help` lists them. Each lives in its own file.
enum AffectdSubcommands {
    static let all: [any ParsableCommand.Type] = [
        ServeCommand.self,
        HealthCommand.self,
        HTTPEchoCommand.self,
        ProbeCommand.self,
        FramesCommand.self,
        DecodeBenchCommand.self,
        BenchOpCommand.self,
        ModelCommand.self,
        DetectCommand.self,
        AnalyzeCommand.self,
        LabelCommand.self,
        BenchNetCommand.self,
    ]
}
