import Foundation

/// Where an analysis spent its time, per stage: wall-clock seconds summed over the threads that ran
/// the stage, and those threads' CPU seconds (the steadier figure on a loaded machine).
public struct StageTimings: Codable, Sendable, Equatable {
    public struct Stage: Codable, Sendable, Equatable {
        public var wall: Double = 0
        public var cpu: Double = 0
        public var calls: Int = 0
    }
    /// decode (demux, decode, RGB conversion), detect, follow (O-Net tracking between detections),
    /// reanalyse (a chunk analysed again with a face its first detection missed, `FrameWorker.settle`),
    /// expression (crops, mini-Xception with its flip pass), encoders (scene/person), head (VA head +
    /// confidence), temporal.
    public var stages: [String: Stage] = [:]
    /// Wall-clock of the whole analysis, and the process's CPU time during it (all threads).
    public var totalWall: Double = 0
    public var totalCPU: Double = 0
    public var framesAnalyzed = 0

    enum CodingKeys: String, CodingKey { case stages, totalWall = "total_wall", totalCPU = "total_cpu", framesAnalyzed = "frames_analyzed" }

    mutating func add(_ other: StageTimings) {
        for (k, s) in other.stages {
            stages[k, default: Stage()].wall += s.wall
            stages[k, default: Stage()].cpu += s.cpu
            stages[k, default: Stage()].calls += s.calls
        }
    }

    /// Times `body` under `stage` (wall and this thread's CPU).
    mutating func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let w0 = Clock.wall(), c0 = Clock.threadCPU()
        defer {
            stages[stage, default: Stage()].wall += Clock.wall() - w0
            stages[stage, default: Stage()].cpu += Clock.threadCPU() - c0
            stages[stage, default: Stage()].calls += 1
        }
        return try body()
    }
}

enum Clock {
    static func wall() -> Double { read(CLOCK_MONOTONIC) }
    static func threadCPU() -> Double { read(CLOCK_THREAD_CPUTIME_ID) }
    static func processCPU() -> Double { read(CLOCK_PROCESS_CPUTIME_ID) }
    private static func read(_ id: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(id, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
