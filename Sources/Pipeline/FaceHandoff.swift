import Foundation
import Vision

/// Hands each chunk's last faces to the request's next chunk, so tracking between detections runs
/// across chunk boundaries exactly as it would over one long chunk (results do not depend on the
/// number of threads or on other requests). Chunk k asks for chunk k-1's faces after its own first
/// detection and may wait: the scheduler starts a session's chunks in submission order, so chunk
/// k-1 is then running or done, and every chunk publishes once (empty when it failed or was
/// discarded), so the wait ends.
final class FaceHandoff: @unchecked Sendable {
    private let cond = NSCondition()
    private var published: [Int: [Face]] = [:]

    /// The faces chunk `index` ended with, waiting until it publishes them; nil before the first chunk.
    func faces(after index: Int) -> [Face]? {
        guard index >= 0 else { return nil }
        cond.lock()
        defer { cond.unlock() }
        while published[index] == nil { cond.wait() }
        return published.removeValue(forKey: index)
    }

    func publish(_ faces: [Face], chunk index: Int) {
        cond.lock()
        published[index] = faces
        cond.broadcast()
        cond.unlock()
    }
}
