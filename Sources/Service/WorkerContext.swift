// What each worker thread owns for its whole life: an Analyzer (its frame workers' arenas and
// scratch buffers). The networks inside are shared, read-only, by all workers.
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
