import Foundation

/// Where media bytes come from. Both go through a custom AVIOContext (see InputIO), so FFmpeg never
/// opens a file or URL by itself: no protocol other than our own reads is reachable.
public enum MediaSource: Sendable {
    /// A path on disk (e.g. the HTTP server's capped temp file).
    case file(String)
    /// Bytes already in memory (e.g. a small upload or a multipart part).
    case memory(Data)
}
