import Foundation
import Vision

/// Hands each chunk's last faces to the request's next chunk, so tracking between detections runs
/// across chunk boundaries exactly as over one long chunk (results do not depend on the number of
/// threads or on other requests), without a compute thread ever waiting: a chunk registers how it
/// settles once the previous chunk's last faces are known, and runs it at once when they are, else
/// the thread that settles the previous chunk runs it next. Every chunk index is settled exactly
/// once (a chunk discarded by cancellation too, with thread nil: its successor then has no worker).
final class FaceHandoff: @unchecked Sendable {
    /// Gets the previous chunk's last faces (nil for the first chunk) and the compute thread it runs
    /// on (nil: the session was cancelled); returns this chunk's last faces.
    typealias Settle = (_ earlier: [Face]?, _ thread: Int?) -> [Face]

    private let lock = NSLock()
    private var published: [Int: [Face]] = [:]
    private var waiting: [Int: Settle] = [:]

    func settle(chunk index: Int, thread: Int?, _ settle: @escaping Settle) {
        lock.lock()
        if index > 0 && published[index - 1] == nil {
            waiting[index] = settle
            lock.unlock()
            return
        }
        let earlier = index > 0 ? published.removeValue(forKey: index - 1) : nil
        lock.unlock()
        var (done, faces) = (index, settle(earlier, thread))
        while true {
            lock.lock()
            guard let next = waiting.removeValue(forKey: done + 1) else {
                published[done] = faces
                lock.unlock()
                return
            }
            lock.unlock()
            (done, faces) = (done + 1, next(faces, thread))
        }
    }
}
