import ArgumentParser

/// Every subcommand, in the order `affectd --help` lists them. Each lives in its own file.
enum AffectdSubcommands {
    static let all: [any ParsableCommand.Type] = [
        ServeCommand.self,
        HealthCommand.self,
        ProbeCommand.self,
        FramesCommand.self,
        ModelCommand.self,
        DetectCommand.self,
        AnalyzeCommand.self,
        LabelCommand.self,
    ]
}
