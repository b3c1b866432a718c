import Foundation

/// A blocking FIFO with a capacity: the decode thread waits when the workers are behind (so decoded
/// frames never pile up in memory) and workers wait when the decoder is. `close()` ends it: pushes
/// are refused, pops drain what is left and then return nil.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int
    private var closed = false

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// False when the queue was closed (the consumer gave up).
    @discardableResult
    func push(_ item: Element) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while !closed && items.count - head >= capacity { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Up to `max` items: waits for the first, takes the others only if already there. Empty = closed and drained.
    func pop(max: Int) -> [Element] {
        condition.lock(); defer { condition.unlock() }
        while !closed && items.count == head { condition.wait() }
        let n = min(max, items.count - head)
        let out = Array(items[head..<(head + n)])
        head += n
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return out
    }

    func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }
}
