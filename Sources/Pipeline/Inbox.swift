import Foundation

/// A blocking FIFO without a bound, for messages to one consumer (the collector waits here for
/// its chunks' outcomes). Producers never wait: a compute thread must not stall on one request's
/// collector; the collector only tracks and streams, cheap next to the chunks it receives.
final class Inbox<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0

    func push(_ item: Element) {
        condition.lock(); defer { condition.unlock() }
        items.append(item)
        condition.signal()
    }

    /// Up to `max` items: waits for the first, takes the others only if already there.
    func pop(max: Int) -> [Element] {
        condition.lock(); defer { condition.unlock() }
        while items.count == head { condition.wait() }
        let n = min(max, items.count - head)
        let out = Array(items[head..<(head + n)])
        head += n
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return out
    }
}
