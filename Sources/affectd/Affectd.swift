import ArgumentParser

/// The affectd command line: one subcommand per job (see README.md).
@main
struct Affectd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "affectd",
        abstract: "Emotion (valence, arousal, expressions) from video, as a CLI and an HTTP service.",
        subcommands: AffectdSubcommands.all
    )
}
