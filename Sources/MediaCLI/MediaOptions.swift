import ArgumentParser
import Foundation
import Media

/// Media limits and decoder threads as command-line flags (shared by the affectd and affectd-bench commands that read media).
public struct MediaOptions: ParsableArguments {
    public init() {}
    @Option(help: "Decoder threads (0 = one per core, at most 8).")
    public var threads: Int = 0
    @Option(name: .customLong("max-pixels"), help: "Largest frame, width x height.")
    public var maxPixels: Int = MediaLimits().maxPixels
    @Option(name: .customLong("max-duration"), help: "Longest media, seconds.")
    public var maxDuration: Double = MediaLimits().maxDuration
    @Option(name: .customLong("max-decode-seconds"), help: "Wall-clock limit for opening and decoding.")
    public var maxDecodeSeconds: Double = MediaLimits().maxDecodeSeconds

    public var limits: MediaLimits {
        var l = MediaLimits()
        l.threads = threads
        l.maxPixels = maxPixels
        l.maxDuration = maxDuration
        l.maxDecodeSeconds = maxDecodeSeconds
        return l
    }
}

/// "WxH" -> (W, H).
public func parseSize(_ text: String) throws -> (Int, Int) {
    let parts = text.lowercased().split(separator: "x")
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0, w <= 16384, h <= 16384 else {
        throw ValidationError("size must be WIDTHxHEIGHT, e.g. 224x224 (got \(text))")
    }
    return (w, h)
}

/// Prints a media error for a person and exits with status 2 (bad input), not a crash trace.
public func reportMediaError(_ error: MediaError) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error.description) [\(error.code)]\n".utf8))
    return ExitCode(2)
}
