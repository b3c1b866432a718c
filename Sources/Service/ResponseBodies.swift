// The JSON bodies the service writes besides analysis results, as Encodable values. Every body goes
// through `HTTPResponse.json` (ResultJSON: compact, sorted keys), the service's one JSON writer.
import Affect
import Foundation
import HTTP

extension HTTPResponse {
    static func json(_ status: Int, _ body: some Encodable, headers: HTTPHeaders = HTTPHeaders()) throws -> HTTPResponse {
        var h = HTTPHeaders([("Content-Type", "application/json")])
        for (name, value) in headers { h.add(name, value) }
        return HTTPResponse(status: status, headers: h, body: Array(try ResultJSON.encode(body)))
    }
}

/// /healthz: the process answers.
struct Liveness: Encodable {
    let status = "ok"
}

/// /readyz: each check and the numbers behind them (openapi.yaml "Ready").
struct Readiness: Encodable {
    let status: String
    let checks: [String: Bool]
    let workers: Int
    let workersAlive: Int
    let busyWorkers: Int
    let queueDepth: Int
    let queueHighWater: Int

    enum CodingKeys: String, CodingKey {
        case status, checks, workers, workersAlive = "workers_alive", busyWorkers = "busy_workers"
        case queueDepth = "queue_depth", queueHighWater = "queue_high_water"
    }
}

/// The last line of an NDJSON stream that failed after its 200 head went out.
struct StreamErrorLine: Encodable {
    let type = "error"
    let status: Int
    let detail: String

    init(_ problem: ProblemError) {
        status = problem.status
        detail = problem.detail
    }

    func ndjson() throws -> [UInt8] { Array(try ResultJSON.encode(self)) + [0x0A] }
}
