import Foundation
import TestSupport
import XCTest
@testable import Service

/// The repository root (config/affectd.yaml lives there).

func writeTemp(_ text: String) throws -> String {
    let path = NSTemporaryDirectory() + "affectd-config-\(UUID().uuidString).yaml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func configError(_ body: () throws(ConfigError) -> Void) -> ConfigError? {
    do { try body(); return nil } catch { return error }
}

final class ServiceConfigTests: XCTestCase {
    func testDocumentedFileEqualsBuiltInDefaults() throws {
        let fromFile = try ServiceConfig.load(path: Repo.path("config/affectd.yaml"), environment: [:])
        XCTAssertEqual(fromFile, ServiceConfig())
    }

    func testDocumentedFileNamesEverySettingAndItsVariable() throws {
        let text = try String(contentsOfFile: Repo.path("config/affectd.yaml"), encoding: .utf8)
        let keys = Set(try ServiceConfig.readYAML(Repo.path("config/affectd.yaml")).map(\.0))
        XCTAssertEqual(keys, Set(ServiceConfig.settingKeys))
        for env in ServiceConfig.settingEnvironment { XCTAssert(text.contains(env), "config/affectd.yaml does not mention \(env)") }
    }

    func testEnvironmentOverridesFileAndFlagsOverrideEnvironment() throws {
        let file = try writeTemp("server:\n  port: 9001\nqueue:\n  length: 4\n  high_water: 3\n")
        let c = try ServiceConfig.load(
            path: file, environment: ["AFFECTD_PORT": "9002", "AFFECTD_OVERLOAD_STATUS": "429"],
            overrides: ["server.port=9003"])
        XCTAssertEqual(c.port, 9003)
        XCTAssertEqual(c.queueLength, 4)
        XCTAssertEqual(c.queueHighWater, 3)
        XCTAssertEqual(c.overloadStatus, 429)
        let e = try ServiceConfig.load(path: file, environment: ["AFFECTD_PORT": "9002"])
        XCTAssertEqual(e.port, 9002)
    }

    func testInvalidValuesNameTheirKey() throws {
        let cases: [(String, [String: String], [String], String)] = [
            ("server:\n  port: 70000\n", [:], [], "server.port"),
            ("server:\n  prot: 80\n", [:], [], "server.prot"),
            ("queue:\n  overload_status: 500\n", [:], [], "queue.overload_status"),
            ("", ["AFFECTD_JOB_DEADLINE": "-1"], [], "jobs.deadline"),
            ("", ["AFFECTD_GZIP": "maybe"], [], "server.gzip"),
            ("", [:], ["queue.length=2", "queue.high_water=3"], "queue.high_water"),
            ("", [:], ["server.tls_cert=/x.pem"], "server.tls_key"),
            ("", [:], ["auth.api_keys=short"], "auth.api_keys"),
            ("", [:], ["log.level=loud"], "log.level"),
            ("", [:], ["nonsense"], "nonsense"),
            ("server: [1, 2\n", [:], [], "config"),
        ]
        for (yaml, env, overrides, key) in cases {
            let file = try writeTemp(yaml)
            let error = configError { () throws(ConfigError) in _ = try ServiceConfig.load(path: file, environment: env, overrides: overrides) }
            XCTAssertEqual(error?.key, key, "expected an error naming \(key), got \(String(describing: error))")
            XCTAssert(error.map { "\($0)".contains(key) } == true)
        }
    }

    func testFlagsAndVariablesComeFromTheOneTable() {
        XCTAssertEqual(ServiceConfig.key(\.modelDir), "model.dir")
        XCTAssertEqual(ServiceConfig.overrides([\.port: "9000", \.host: nil, \.workers: "2"]), ["server.port=9000", "workers.count=2"])
        XCTAssertEqual(Set(ServiceConfig.settingKeys).count, ServiceConfig.settings.count)
        XCTAssertEqual(Set(ServiceConfig.settingEnvironment).count, ServiceConfig.settings.count)
        XCTAssert(ServiceConfig.settingEnvironment.allSatisfy { $0.hasPrefix("AFFECTD_") })
        XCTAssertEqual(Set(ServiceConfig.settings.map(\.field)).count, ServiceConfig.settings.count, "one setting per field")
    }

    func testApiKeysFromFileAndEnvironment() throws {
        let keys = try writeTemp("# ops team\nkey-aaaaaaaaaaaaaaaa\n\nkey-bbbbbbbbbbbbbbbb\n")
        let c = try ServiceConfig.load(path: nil, environment: ["AFFECTD_API_KEYS": "key-cccccccccccccccc", "AFFECTD_API_KEYS_FILE": keys])
        XCTAssertEqual(c.apiKeys, ["key-cccccccccccccccc", "key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"])
    }
}

final class APIKeysTests: XCTestCase {
    func testAcceptsOnlyConfiguredBearerKeys() {
        let keys = APIKeys(["0123456789abcdef", "fedcba9876543210"])
        XCTAssert(keys.accepts(authorization: "Bearer 0123456789abcdef"))
        XCTAssert(keys.accepts(authorization: "bearer fedcba9876543210"))
        XCTAssertFalse(keys.accepts(authorization: nil))
        XCTAssertFalse(keys.accepts(authorization: "Bearer 0123456789abcde"))
        XCTAssertFalse(keys.accepts(authorization: "Bearer 0123456789abcdef0"))
        XCTAssertFalse(keys.accepts(authorization: "Basic 0123456789abcdef"))
        XCTAssertFalse(keys.accepts(authorization: "Bearer "))
        XCTAssertFalse(APIKeys([]).accepts(authorization: "Bearer x"))
    }
}
