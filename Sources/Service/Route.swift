// Every route of openapi.yaml as a case: a request's method and path are matched once, here, and
// Service.dispatch switches over the result.
import HTTP

enum Route: Equatable, Sendable {
    case live, ready, metrics, models
    case analyze, frames, label, submitJob, listJobs
    /// `/`: the live page; `/v1/stream`: its WebSocket.
    case page, stream
    case jobStatus(id: String), cancelJob(id: String)

    /// A match: the path's template (the metrics label, "unmatched" for an unknown path) and the
    /// route, or the 404/405 problem.
    struct Match {
        let template: String
        let route: Result<Route, ProblemError>
    }

    static let jobPrefix = "/v1/jobs/"

    static func match(method: String, path: Substring) -> Match {
        let template: String
        let methods: KeyValuePairs<String, Route>
        switch path {
        case "/healthz", "/v2/health/live": (template, methods) = (String(path), ["GET": .live, "HEAD": .live])
        case "/readyz", "/v2/health/ready": (template, methods) = (String(path), ["GET": .ready, "HEAD": .ready])
        case "/metrics": (template, methods) = ("/metrics", ["GET": .metrics, "HEAD": .metrics])
        case "/v1/models": (template, methods) = ("/v1/models", ["GET": .models, "HEAD": .models])
        case "/v1/analyze": (template, methods) = ("/v1/analyze", ["POST": .analyze])
        case "/v1/frames": (template, methods) = ("/v1/frames", ["POST": .frames])
        case "/v1/label": (template, methods) = ("/v1/label", ["POST": .label])
        case "/v1/jobs": (template, methods) = ("/v1/jobs", ["POST": .submitJob, "GET": .listJobs])
        case "/": (template, methods) = ("/", ["GET": .page, "HEAD": .page])
        case "/v1/stream": (template, methods) = ("/v1/stream", ["GET": .stream])
        case _ where path.hasPrefix(jobPrefix) && path.count > jobPrefix.count && !path.dropFirst(jobPrefix.count).contains("/"):
            let id = String(path.dropFirst(jobPrefix.count))
            (template, methods) = ("/v1/jobs/{id}", ["GET": .jobStatus(id: id), "DELETE": .cancelJob(id: id)])
        default:
            return Match(template: "unmatched", route: .failure(ProblemError(404, "no resource at \(path)")))
        }
        if let route = methods.first(where: { $0.key == method })?.value { return Match(template: template, route: .success(route)) }
        let allowed = methods.map(\.key).joined(separator: ", ")
        return Match(
            template: template,
            route: .failure(
                ProblemError(
                    405, "\(method) is not allowed on \(template); allowed: \(allowed)",
                    headers: HTTPHeaders([("Allow", allowed)]))))
    }

    /// Whether the route is served without an API key under `config`.
    func isOpen(_ config: ServiceConfig) -> Bool {
        switch self {
        case .live, .ready: !config.authHealth
        case .metrics: !config.authMetrics
        case .page: true  // the page holds no data; it asks for the key it then streams with
        default: false
        }
    }
}
