// Start-up and shutdown of the whole service: model, workers, HTTP server, signals.
// SIGTERM/SIGINT: readiness 503 at once, keep serving for the propagation window (load balancers
// notice), stop accepting, let in-flight work finish within the drain timeout, exit.
import Affect
import Dispatch
import Foundation
import HTTP
import Logging
import Media
import Pipeline
import Tensor

public final class ServiceHost: Sendable {
    public let service: Service
    let server: HTTPServer
    let scheduler: FrameScheduler
    let logger: Logger

    /// Loads and verifies the model, starts the workers and binds the port.
    public init(config: ServiceConfig, logger: Logger) throws {
        self.logger = logger
        // docs/engine.md: workers x intra-op threads <= cores; the service runs one intra-op thread per worker.
        Engine.configure(intraOpThreads: 1)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let package = try ModelPackage(directory: config.modelDir)
        let models = try AnalyzerModels(package: package)
        let metrics = ServiceMetrics()
        // One pool of compute threads (one per core) takes every request's chunks; the request
        // threads only decode and collect, so more of them than cores may be active (docs/pipeline.md).
        scheduler = FrameScheduler(
            threads: config.effectiveWorkers,
            weights: FrameScheduler.Weights(interactive: config.interactiveWeight, batch: config.batchWeight), observer: metrics)
        let analyzer = try Analyzer(models: models, options: AnalyzerOptions(threads: config.effectiveWorkers), scheduler: scheduler)
        let pool = WorkerPool<WorkerContext>(workers: config.effectiveActiveRequests, capacity: config.queueLength, metrics: metrics) { index in
            WorkerContext(index: index, analyzer: analyzer)
        }
        try pool.start()
        logger.info(
            "model loaded",
            metadata: [
                "model": "\(package.name)", "version": "\(package.version)", "dir": "\(config.modelDir)",
                "workers": "\(config.effectiveWorkers)", "active_requests": "\(config.effectiveActiveRequests)",
                "load_ms": "\((DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000)",
                "gemm_tile": "\(Engine.gemmTile)", "blas_core": "\(BLAS.coreName)",
            ])
        service = try Service(config: config, logger: logger, metrics: metrics, package: package, pool: pool, live: models, scheduler: scheduler)
        server = HTTPServer(config: Self.httpConfig(config), logger: logger, handler: service.handle)
        try server.start()
        service.startJobs()
    }

    public var port: UInt16 { server.port }

    static func httpConfig(_ c: ServiceConfig) -> HTTPServerConfig {
        var h = HTTPServerConfig()
        h.host = c.host
        h.port = UInt16(c.port)
        h.maxConnections = c.maxConnections
        h.parser.maxBodyBytes = c.maxBodyBytes
        h.parser.maxHeaderBytes = c.maxHeaderBytes
        h.parser.maxHeaderCount = c.maxHeaderCount
        h.parser.maxRequestLineBytes = c.maxRequestLineBytes
        h.maxInMemoryBodyBytes = c.maxInMemoryBodyBytes
        h.temporaryDirectory = c.temporaryDirectory
        h.headerTimeout = .milliseconds(Int64(c.headerTimeout * 1000))
        h.bodyProgressTimeout = .milliseconds(Int64(c.bodyTimeout * 1000))
        h.idleTimeout = .milliseconds(Int64(c.idleTimeout * 1000))
        h.writeTimeout = .milliseconds(Int64(c.writeTimeout * 1000))
        h.gzip = c.gzip
        // WebSockets serve /v1/stream only: its limits are the server's.
        h.webSocket.maxMessageBytes = c.streamMaxMessageBytes
        h.webSocket.maxFrameBytes = c.streamMaxMessageBytes
        h.webSocket.maxConnections = c.streamMaxSessions
        if !c.tlsCert.isEmpty { h.tls = HTTPTLSConfig(certificatePath: c.tlsCert, privateKeyPath: c.tlsKey) }
        return h
    }

    /// Media limits for every decode the service runs.
    public static func mediaLimits(_ c: ServiceConfig) -> MediaLimits {
        var m = MediaLimits()
        m.maxBytes = Int64(c.maxBodyBytes)
        m.maxDuration = c.mediaMaxDuration
        m.maxPixels = c.mediaMaxPixels
        m.maxFrames = c.mediaMaxFrames
        m.maxStreams = c.mediaMaxStreams
        m.probeBytes = c.mediaProbeBytes
        m.maxDecodeSeconds = c.mediaMaxDecodeSeconds
        m.threads = 1  // one decode thread per request: the cores are the compute threads'
        return m
    }

    /// Blocks until SIGTERM or SIGINT has been handled and the server has stopped.
    public func runUntilSignalled() {
        let once = DispatchSemaphore(value: 0)
        let sources = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { once.signal() }
            s.resume()
            return s
        }
        once.wait()
        shutdown()
        sources.forEach { $0.cancel() }
    }

    /// The drain sequence; returns when the server has stopped.
    public func shutdown() {
        let c = service.config
        service.beginDraining()
        logger.notice("draining: readiness is 503", metadata: ["propagation_s": "\(c.propagationWindow)", "drain_timeout_s": "\(c.drainTimeout)"])
        if c.propagationWindow > 0 { Thread.sleep(forTimeInterval: c.propagationWindow) }
        // No new claims or requests from here; the server stops accepting and waits for in-flight answers.
        let deadline = Date(timeIntervalSinceNow: c.drainTimeout)
        service.runner.claiming.store(false, ordering: .relaxed)
        service.pool.close()
        server.stop(gracePeriod: .milliseconds(Int64(c.drainTimeout * 1000)))
        // Jobs still running at the deadline go back to the store's queue for another replica.
        service.drainJobs(until: deadline)
        service.webhooks.stop()
        // Whatever is still queued after the grace period gets an explicit error, never silence.
        service.pool.cancelQueued(.shutdown)
        let idle = service.pool.drain(timeout: 1)
        // The compute threads end once the chunks still queued have run (nothing new is accepted).
        scheduler.stop()
        logger.notice("stopped", metadata: ["workers_idle": "\(idle)"])
    }
}
