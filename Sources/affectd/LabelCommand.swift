import Affect
import ArgumentParser
import Foundation
import Media
import MediaCLI
import Pipeline

/// `affectd label FILE --support S.json`: support-set labelling; S.json is `[{t, valence, arousal}]`.
struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label", abstract: "Label every sampled frame from a few labelled timestamps (support set), as JSON.")

    @Argument(help: "Video file.") var file: String
    @Option(help: "JSON file with the support set: [{\"t\": s, \"valence\": v, \"arousal\": a}, ...].") var support: String
    @OptionGroup var analysis: AnalysisOptions

    func run() throws {
        let set: [SupportSetLabeler.Support]
        do { set = try JSONDecoder().decode([SupportSetLabeler.Support].self, from: try Data(contentsOf: URL(fileURLWithPath: support))) } catch {
            throw ValidationError("--support: cannot read \(support) as [{t, valence, arousal}]: \(error)")
        }
        let request = try analysis.request()
        let analyzer = try analysis.analyzer()
        do {
            let result = try analyzer.label(.file(file), support: set, request: request)
            FileHandle.standardOutput.write(try ResultJSON.encode(result) + Data("\n".utf8))
        } catch let error as MediaError {
            throw reportMediaError(error)
        } catch let error as AnalyzerError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
