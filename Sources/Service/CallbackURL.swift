// A job's callback URL, checked against `jobs.webhook_allow` at submission and again before each
// delivery: by default nothing is allowed, so the service never calls out unless told where to.
import Foundation

struct CallbackURL: Sendable, Equatable {
    /// https (TLS, certificate verified) or http.
    let secure: Bool
    let host: String
    let port: Int
    /// Path and query, as sent in the request line.
    let target: String

    static let maxLength = 2048

    /// `http[s]://host[:port][/path][?query]`; nil for anything else.
    init?(_ text: String) {
        let lower = text.lowercased()
        guard text.count <= Self.maxLength, lower.hasPrefix("http://") || lower.hasPrefix("https://"),
            !text.contains(where: { $0.isWhitespace || $0 == "#" })
        else { return nil }
        secure = lower.hasPrefix("https://")
        let rest = text.dropFirst(secure ? "https://".count : "http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let path = rest.dropFirst(authority.count)
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port = secure ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            host = authority[..<colon]
            port = p
        }
        guard !host.isEmpty else { return nil }
        self.host = host.lowercased()
        self.port = port
        target = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
    }

    /// The origin (`https://host:port`) the allow-list names.
    var origin: String { "\(secure ? "https" : "http")://\(hostHeader)" }

    /// `host:port`, an IPv6 address in brackets.
    var hostHeader: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// Whether one of `allowed` (origins; without a port, the scheme's) names this URL's origin.
    func isAllowed(by allowed: [String]) -> Bool {
        allowed.contains { entry in CallbackURL(entry).map { $0.origin == origin } ?? false }
    }
}
