// What each request thread of the pool holds: its index and the service's one Analyzer (shared by
// every request thread; its compute threads' arenas belong to the frame scheduler's threads).
import Affect
import Pipeline

public struct WorkerContext {
    public let index: Int
    public let analyzer: Analyzer

    public init(index: Int, analyzer: Analyzer) {
        self.index = index
        self.analyzer = analyzer
    }
}
