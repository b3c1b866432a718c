// The REST API (openapi.yaml): each request is matched to a Route once, authorised, and dispatched
// in one switch; one JSON log line and one metrics sample per answered request (Exchange).
import Dispatch
import Foundation
import HTTP
import Logging
import Media
import Pipeline
import Synchronization
import Tensor

public final class Service: Sendable {
    public let config: ServiceConfig
    public let metrics: ServiceMetrics
    let logger: Logger
    let keys: APIKeys
    let pool: WorkerPool<WorkerContext>
    /// Set at SIGTERM: readiness answers 503 from then on.
    let draining = Atomic<Bool>(false)
    let models: ModelList
    let jobs: JobStore
    let runner = JobRunner()
    let webhooks: WebhookSender
    let input: RequestInput
    let streams: StreamHub

    /// Opens the job store (`jobs.store`); `startJobs` then starts claiming and delivering.
    public init(
        config: ServiceConfig, logger: Logger, metrics: ServiceMetrics, package: ModelPackage,
        pool: WorkerPool<WorkerContext>, live: AnalyzerModels, scheduler: FrameScheduler
    ) throws {
        self.config = config
        self.logger = logger
        self.metrics = metrics
        self.pool = pool
        self.keys = APIKeys(config.apiKeys)
        self.models = ModelList(package)
        let store: JobStore
        do { store = try SQLJobStore.open(config.jobStore, scratch: config.temporaryDirectory) } catch {
            throw ConfigError(key: ServiceConfig.key(\.jobStore), "cannot open the job store: \(error)")
        }
        self.jobs = store
        self.webhooks = try WebhookSender(store: store, config: config, metrics: metrics)
        self.input = RequestInput(config: config, limits: ServiceHost.mediaLimits(config))
        self.streams = StreamHub(models: live, scheduler: scheduler, config: config, metrics: metrics)
    }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Starts claiming jobs from the store (this replica's workers run them) and delivering webhooks.
    public func startJobs() {
        startJobRunner()
        webhooks.start()
    }
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    @Sendable public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let started = DispatchTime.now().uptimeNanoseconds
        metrics.requestStarted()
        let match = Route.match(method: request.head.method, path: request.head.path)
        let exchange = Exchange(service: self, request: request, responder: responder, route: match.template, started: started)
        do {
            let route = try match.route.get()
            try authorize(route, request.head)
            try dispatch(route, exchange)
        } catch {
            exchange.send(problem(for: error, ticket: nil).response)
        }
    }

    func authorize(_ route: Route, _ head: HTTPRequestHead) throws(ProblemError) {
        guard keys.isEnabled, !route.isOpen(config) else { return }
        let authorization = head.headers["Authorization"]
        guard !keys.accepts(authorization: authorization) else { return }
        if route == .stream, Self.streamCredentials(head).contains(where: keys.accepts) { return }
        throw ProblemError(
            401, authorization == nil ? "an API key is required: send Authorization: Bearer <key>" : "the API key is not valid",
            headers: HTTPHeaders([("WWW-Authenticate", "Bearer")]))
    }

    func dispatch(_ route: Route, _ exchange: Exchange) throws {
        let request = exchange.request
        switch route {
        case .live: exchange.send(try .json(200, Liveness()))
        case .ready: exchange.send(try readiness())
        case .metrics:
            exchange.send(
                HTTPResponse(
                    status: 200, headers: HTTPHeaders([("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]),
                    body: metrics.exposition()))
        case .models: exchange.send(try .json(200, models))
        case .analyze: runNow(try input.clip(request, allowStream: true), exchange)
        case .frames: runNow(try input.frames(request), exchange)
        case .label: runNow(try input.label(request), exchange)
        case .submitJob: try submitJob(request, exchange)
        case .listJobs: exchange.send(try .json(200, try listJobs(request.head.query)))
        case .jobStatus(let id): exchange.send(try .json(200, try job(id)))
        case .cancelJob(let id): exchange.send(try .json(200, try cancelJob(id)))
        case .page: exchange.send(HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: StreamPage.html))
        case .stream: try openStream(exchange)
        }
    }

    /// Ready when the model is loaded (it is, or the service would not exist), every worker is
    /// alive, the queue is below its high-water mark and no drain has begun.
    func readiness() throws -> HTTPResponse {
        let s = pool.snapshot
        let checks = [
            "model_loaded": true,
            "workers_alive": s.alive == pool.workerCount,
            "queue_below_high_water": s.depth < config.queueHighWater,
            "not_draining": !isDraining,
        ]
        let ready = checks.values.allSatisfy { $0 }
        return try .json(
            ready ? 200 : 503,
            Readiness(
                status: ready ? "ready" : "not_ready", checks: checks, workers: pool.workerCount,
                workersAlive: s.alive, busyWorkers: s.busy, queueDepth: s.depth,
                queueHighWater: config.queueHighWater))
    }
}
