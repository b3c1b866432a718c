import ArgumentParser
import Foundation
import Media
import MediaCLI

/// `affectd probe FILE`: container, duration, streams, codecs, frame rate, size, rotation as JSON.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe", abstract: "Print what a media file holds, as JSON (nothing is decoded).")

    @Argument(help: "Video or image file.") var file: String
    @OptionGroup var media: MediaOptions

    func run() throws {
        do {
            let probe = try MediaProbe(source: .file(file), limits: media.limits)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(probe), as: UTF8.self))
        } catch let error as MediaError {
            throw reportMediaError(error)
        }
    }
}
