import TestSupport

@testable import Pipeline

/// The default package's networks, loaded once for every Pipeline test that needs them (`make setup`).
enum SharedModels {
    nonisolated(unsafe) private static var loaded: AnalyzerModels?

    static func get() throws -> AnalyzerModels {
        if let m = loaded { return m }
        let m = try AnalyzerModels(package: try Repo.defaultPackage())
        loaded = m
        return m
    }
}
