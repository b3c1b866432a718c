// One request on its way to an answer: the first answer wins (worker, deadline, cancellation may
// race) and is the one logged and counted.
import Dispatch
import Foundation
import HTTP
import Logging
import Synchronization

final class Exchange: Sendable {
    let service: Service
    let request: HTTPRequest
    let responder: HTTPResponder
    let route: String
    let started: UInt64
    let answered = Atomic<Bool>(false)
    let recorded = Atomic<Bool>(false)

    init(service: Service, request: HTTPRequest, responder: HTTPResponder, route: String, started: UInt64) {
        self.service = service
        self.request = request
        self.responder = responder
        self.route = route
        self.started = started
    }

    /// Sends `response` unless an answer already went out (deadline, cancellation and the
    /// worker may race to answer; the first wins and is the one counted).
    func send(_ response: HTTPResponse) {
        guard claim() else { return }
        var response = response
        response.headers.add("X-Request-Id", String(request.id))
        responder.send(response)
        record(status: response.status)
    }

    /// Starts a streamed answer (nil if one already went out); call `record` when it ends.
    func startStream(status: Int, contentType: String) -> HTTPResponseStream? {
        guard claim() else { return nil }
        return responder.startStream(status: status, headers: HTTPHeaders([("Content-Type", contentType), ("X-Request-Id", String(request.id))]))
    }

    func claim() -> Bool { !answered.exchange(true, ordering: .relaxed) }

    /// Records the request once (a streamed answer calls this when its stream ends).
    func record(status: Int) {
        guard !recorded.exchange(true, ordering: .relaxed) else { return }
        let elapsed = Int64(DispatchTime.now().uptimeNanoseconds - started)
        service.metrics.requestFinished()
        service.metrics.recordRequest(route: route, method: request.head.method, status: status, nanoseconds: elapsed)
        // Never the body, the query or the Authorization header: route, method, status and timing only.
        let level: Logger.Level =
            status >= 500 ? .error : (route == "/healthz" || route == "/metrics" || route.hasPrefix("/v2/health") || route == "/readyz") ? .debug : .info
        service.logger.log(
            level: level, "request",
            metadata: [
                "request_id": "\(request.id)", "method": "\(request.head.method)", "route": "\(route)",
                "status": "\(status)", "duration_ms": "\(String(format: "%.3f", Double(elapsed) / 1e6))",
                "remote": "\(request.remoteAddress)",
            ])
    }
}
