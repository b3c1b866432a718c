// The REST API (openapi.yaml): routing, auth, health and readiness, metrics and the model
// description; one JSON log line and one metrics sample per answered request.
import Dispatch
import Foundation
import HTTP
import Logging
import Media
import Synchronization
import Tensor

public final class Service: Sendable {
    public let config: ServiceConfig
    public let metrics: ServiceMetrics
    let logger: Logger
    let keys: APIKeys
    let package: ModelPackage
    let pool: WorkerPool<WorkerContext>
    /// Set at SIGTERM: readiness answers 503 from then on.
    let draining = Atomic<Bool>(false)
    /// /v1/models body, built once from the manifest.
    let modelDescription: [UInt8]
    let jobs: JobStore
    let mediaLimits: MediaLimits

    public init(config: ServiceConfig, logger: Logger, metrics: ServiceMetrics, package: ModelPackage,
                pool: WorkerPool<WorkerContext>) {
        self.config = config
        self.logger = logger
        self.metrics = metrics
        self.package = package
        self.pool = pool
        self.keys = APIKeys(config.apiKeys)
        self.modelDescription = Array(Self.describe(package).utf8)
        self.jobs = JobStore(retention: config.jobRetention, capacity: config.maxJobRecords)
        self.mediaLimits = ServiceHost.mediaLimits(config)
    }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    // MARK: routing

    /// A route template (the metrics label), the methods it takes and whether it needs a key.
    struct Route: Sendable {
        let template: String
        let methods: [String]
        let open: Bool
    }

    func route(for path: Substring) -> Route? {
        switch path {
        case "/healthz", "/v2/health/live", "/readyz", "/v2/health/ready":
            return Route(template: String(path), methods: ["GET", "HEAD"], open: !config.authHealth)
        case "/metrics": return Route(template: "/metrics", methods: ["GET", "HEAD"], open: !config.authMetrics)
        case "/v1/models": return Route(template: "/v1/models", methods: ["GET", "HEAD"], open: false)
        case "/v1/analyze", "/v1/frames", "/v1/label", "/v1/jobs": return Route(template: String(path), methods: ["POST"], open: false)
        case _ where path.hasPrefix("/v1/jobs/") && path.count > "/v1/jobs/".count && !path.dropFirst("/v1/jobs/".count).contains("/"):
            return Route(template: "/v1/jobs/{id}", methods: ["GET", "DELETE"], open: false)
        default: return nil
        }
    }

    @Sendable public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let started = DispatchTime.now().uptimeNanoseconds
        metrics.requestStarted()
        let head = request.head
        let route = route(for: head.path)
        let exchange = Exchange(service: self, request: request, responder: responder,
                                route: route?.template ?? "unmatched", started: started)
        guard let route else {
            return exchange.send(.problem(status: 404, detail: "no resource at \(head.path)"))
        }
        guard route.methods.contains(head.method) else {
            return exchange.send(.problem(status: 405, detail: "\(head.method) is not allowed on \(route.template); allowed: \(route.methods.joined(separator: ", "))",
                                          extraHeaders: HTTPHeaders([("Allow", route.methods.joined(separator: ", "))])))
        }
        if keys.isEnabled && !route.open && !keys.accepts(authorization: head.headers["Authorization"]) {
            let detail = head.headers["Authorization"] == nil ? "an API key is required: send Authorization: Bearer <key>" : "the API key is not valid"
            return exchange.send(.problem(status: 401, detail: detail, extraHeaders: HTTPHeaders([("WWW-Authenticate", "Bearer")])))
        }
        switch route.template {
        case "/healthz", "/v2/health/live":
            exchange.send(json(200, "{\"status\":\"ok\"}"))
        case "/readyz", "/v2/health/ready":
            exchange.send(readiness())
        case "/metrics":
            exchange.send(HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]),
                                       body: metrics.exposition()))
        case "/v1/models":
            exchange.send(HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]), body: modelDescription))
        default:
            handleAnalysis(route.template, exchange)
        }
    }

    /// Ready when the model is loaded (it is, or the service would not exist), every worker is
    /// alive, the queue is below its high-water mark and no drain has begun.
    func readiness() -> HTTPResponse {
        let s = pool.snapshot
        let checks: [(String, Bool)] = [
            ("model_loaded", true),
            ("workers_alive", s.alive == pool.workerCount),
            ("queue_below_high_water", s.depth < config.queueHighWater),
            ("not_draining", !isDraining),
        ]
        let ready = checks.allSatisfy(\.1)
        let body = "{\"status\":\(jsonString(ready ? "ready" : "not_ready")),\"checks\":{"
            + checks.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",")
            + "},\"workers\":\(pool.workerCount),\"workers_alive\":\(s.alive),\"busy_workers\":\(s.busy),\"queue_depth\":\(s.depth),\"queue_high_water\":\(config.queueHighWater)}"
        return json(ready ? 200 : 503, body)
    }

    func json(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: body)
    }

    /// The loaded package as /v1/models reports it: identity, networks, blocks, provenance, licenses.
    static func describe(_ package: ModelPackage) -> String {
        let m = package.manifest
        let networks = (m["networks"]?.object ?? [:]).keys.sorted().map { name -> String in
            let decl = m["networks"]?[name]
            return "{\"name\":\(jsonString(name)),\"file\":\(decl?["file"]?.serialized ?? "null")}"
        }
        let provenance = m["provenance"]?.array ?? []
        let licenses = Set(provenance.compactMap { $0["license"]?.string }).sorted()
        var blocks: [String] = []
        for key in ["detector", "affect"] { if let b = m[key] { blocks.append("\(jsonString(key)):\(b.serialized)") } }
        return "{\"models\":[{\"name\":\(jsonString(package.name)),\"version\":\(jsonString(package.version)),"
            + "\"format\":\(m["format"]?.serialized ?? "null"),\"description\":\(m["description"]?.serialized ?? "null"),"
            + "\"networks\":[\(networks.joined(separator: ","))],\"blocks\":{\(blocks.joined(separator: ","))},"
            + "\"provenance\":\(JSON.array(provenance).serialized),\"licenses\":[\(licenses.map(jsonString).joined(separator: ","))]}]}"
    }
}

/// One request on its way to an answer: sends it once, then logs and counts it.
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
        let level: Logger.Level = status >= 500 ? .error : (route == "/healthz" || route == "/metrics" || route.hasPrefix("/v2/health") || route == "/readyz") ? .debug : .info
        service.logger.log(level: level, "request", metadata: [
            "request_id": "\(request.id)", "method": "\(request.head.method)", "route": "\(route)",
            "status": "\(status)", "duration_ms": "\(String(format: "%.3f", Double(elapsed) / 1e6))",
            "remote": "\(request.remoteAddress)",
        ])
    }
}
