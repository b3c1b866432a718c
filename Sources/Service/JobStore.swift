// Async job records (/v1/jobs): status, progress, result or error. Finished records are kept for
// `jobs.retention` seconds, and at most `jobs.max_records` records exist (the oldest finished go
// first; when every record is unfinished, new jobs are refused rather than old ones forgotten).
import Foundation
import Synchronization

enum JobStatus: String, Encodable { case queued, running, succeeded, failed, cancelled }

struct JobRecord {
    let id: String
    let ticket: JobTicket
    let created: Date
    var status: JobStatus = .queued
    var started: Date?
    var finished: Date?
    /// Analysed frames so far, and the clip's duration and last frame time when known.
    var framesDone = 0
    var lastT: Double?
    var duration: Double?
    var result: AnalysisOutput?
    var error: ProblemError?

    var progress: Double {
        if status == .succeeded { return 1 }
        if status == .running, let t = lastT, let d = duration, d > 0 { return min(0.99, max(0, t / d)) }
        return 0
    }
}

/// The record as GET /v1/jobs/{id} shows it (openapi.yaml "Job"): `started` and `finished` are null
/// until then; `error` and `result` appear once the job has one.
extension JobRecord: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, status, created, started, finished, progress, framesAnalyzed = "frames_analyzed", error, result
    }

    func encode(to encoder: Encoder) throws {
        let time = { (d: Date) in ISO8601DateFormatter().string(from: d) }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(time(created), forKey: .created)
        try c.encode(started.map(time), forKey: .started)
        try c.encode(finished.map(time), forKey: .finished)
        try c.encode(progress, forKey: .progress)
        try c.encode(framesDone, forKey: .framesAnalyzed)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encodeIfPresent(result, forKey: .result)
    }
}

final class JobStore: Sendable {
    let retention: Double
    let capacity: Int
    let records = Mutex<[String: JobRecord]>([:])

    init(retention: Double, capacity: Int) {
        self.retention = retention
        self.capacity = capacity
    }

    /// A new queued record, or nil when the store is full of unfinished jobs.
    func create(ticket: JobTicket) -> String? {
        var raw = [UInt8](repeating: 0, count: 12)
        for i in raw.indices { raw[i] = UInt8.random(in: 0...255) }
        let id = raw.map { String(format: "%02x", $0) }.joined()
        return records.withLock { r -> String? in
            expire(&r)
            if r.count >= capacity {
                guard let oldest = r.values.filter({ $0.finished != nil }).min(by: { $0.finished! < $1.finished! }) else { return nil }
                r[oldest.id] = nil
            }
            r[id] = JobRecord(id: id, ticket: ticket, created: Date())
            return id
        }
    }

    func update(_ id: String, _ change: (inout JobRecord) -> Void) {
        records.withLock { r in if r[id] != nil { change(&r[id]!) } }
    }

    /// Finishes a record unless it already finished (the first outcome wins).
    func finish(_ id: String, status: JobStatus, result: AnalysisOutput? = nil, error: ProblemError? = nil) {
        update(id) { rec in
            guard rec.finished == nil else { return }
            rec.status = status
            rec.finished = Date()
            rec.result = result
            rec.error = error
        }
    }

    func get(_ id: String) -> JobRecord? {
        records.withLock { r in
            expire(&r); return r[id]
        }
    }

    func remove(_ id: String) { records.withLock { r in r[id] = nil } }

    private func expire(_ r: inout [String: JobRecord]) {
        let now = Date()
        for (id, rec) in r where rec.finished.map({ now.timeIntervalSince($0) > retention }) == true { r[id] = nil }
    }
}
