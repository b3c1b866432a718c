// The job store on a real SQLite file: creation with durable uploads, idempotency, claims and
// leases (expiry re-queues, too many expiries fail), release, cancel, listing, webhook bookkeeping;
// and the pieces of the webhook (callback allow-list, signature).
import Foundation
import XCTest
@testable import Service

final class JobStoreTests: XCTestCase {
    var dir = ""
    var store: SQLJobStore!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "affectd-store-\(UUID().uuidString)"
        store = try SQLJobStore.open("sqlite://\(dir)/jobs.db", scratch: NSTemporaryDirectory())
    }

    override func tearDown() {
        store = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    func newJob(_ id: String, key: String? = nil, hash: String = "h", callback: String? = nil) -> NewJob {
        NewJob(id: id, options: "{\"fps\":1}", callbackURL: callback, metadata: nil, idempotencyKey: key, bodyHash: hash)
    }

    @discardableResult
    func create(_ id: String, key: String? = nil, hash: String = "h", callback: String? = nil, max: Int = 10) throws -> JobCreation {
        try store.create(newJob(id, key: key, hash: hash, callback: callback), upload: .memory(Data("clip \(id)".utf8)), maxUnfinished: max, now: 100)
    }

    func testUploadIsKeptUntilTheJobFinishes() throws {
        guard case .created(let record) = try create("a") else { return XCTFail("not created") }
        XCTAssertEqual(record.status, .queued)
        XCTAssertEqual(try String(contentsOfFile: dir + "/uploads/a", encoding: .utf8), "clip a")
        let (claimed, expired) = try store.claim(owner: "r1", leaseUntil: 200, maxAttempts: 3, now: 101, scratch: dir)
        XCTAssertEqual(expired, 0)
        XCTAssertEqual(claimed?.record.id, "a")
        XCTAssertEqual(claimed?.record.attempts, 1)
        XCTAssertEqual(claimed?.options, "{\"fps\":1}")
        XCTAssertEqual(claimed?.upload, dir + "/uploads/a")
        // Nothing else to claim while the lease holds.
        XCTAssertNil(try store.claim(owner: "r2", leaseUntil: 200, maxAttempts: 3, now: 150, scratch: dir).0)
        try store.finish("a", owner: "r1", status: .succeeded, result: "{\"ok\":true}", error: nil, progress: nil, now: 160)
        let done = try XCTUnwrap(store.get("a"))
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.result, .object(["ok": .bool(true)]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/uploads/a"))
    }

    func testExpiredLeaseRequeuesThenFailsAfterMaxAttempts() throws {
        try create("a")
        XCTAssertNotNil(try store.claim(owner: "r1", leaseUntil: 110, maxAttempts: 2, now: 100, scratch: dir).0)
        // r1 died: at 120 its lease has expired and r2 takes the job over.
        let (again, expired) = try store.claim(owner: "r2", leaseUntil: 130, maxAttempts: 2, now: 120, scratch: dir)
        XCTAssertEqual(expired, 1)
        XCTAssertEqual(again?.record.attempts, 2)
        // r1's late outcome does not count: the job is r2's now.
        try store.finish("a", owner: "r1", status: .succeeded, result: "{}", error: nil, progress: nil, now: 121)
        XCTAssertEqual(try store.get("a")?.status, .running)
        XCTAssertEqual(try store.renew([JobProgress(id: "a", frames: 1, lastT: nil, duration: nil)], owner: "r1", leaseUntil: 200), ["a"])
        // r2 dies too: two attempts were allowed, so the job fails with the reason.
        let (none, expiredAgain) = try store.claim(owner: "r3", leaseUntil: 200, maxAttempts: 2, now: 140, scratch: dir)
        XCTAssertNil(none)
        XCTAssertEqual(expiredAgain, 1)
        let failed = try XCTUnwrap(store.get("a"))
        XCTAssertEqual(failed.status, .failed)
        XCTAssert(failed.error?.detail.contains("lease expired") == true, "\(String(describing: failed.error))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/uploads/a"))
    }

    func testReleaseGivesTheJobBackWithoutCountingTheAttempt() throws {
        try create("a")
        _ = try store.claim(owner: "r1", leaseUntil: 200, maxAttempts: 3, now: 100, scratch: dir)
        try store.release("a", owner: "r1")
        let record = try XCTUnwrap(store.get("a"))
        XCTAssertEqual(record.status, .queued)
        XCTAssertEqual(record.attempts, 0)
        XCTAssertEqual(try store.claim(owner: "r2", leaseUntil: 200, maxAttempts: 3, now: 101, scratch: dir).0?.record.attempts, 1)
    }

    func testIdempotencyKeyReplaysOrConflicts() throws {
        guard case .created = try create("a", key: "k1", hash: "h1") else { return XCTFail("not created") }
        guard case .replayed(let same) = try create("b", key: "k1", hash: "h1") else { return XCTFail("not replayed") }
        XCTAssertEqual(same.id, "a")
        guard case .conflict = try create("c", key: "k1", hash: "h2") else { return XCTFail("no conflict") }
        XCTAssertNil(try store.get("b"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/uploads/b"))
    }

    func testFullStoreRefusesAndCancelFrees() throws {
        try create("a", max: 1)
        guard case .full = try create("b", max: 1) else { return XCTFail("not refused") }
        XCTAssertEqual(try store.cancel("a", now: 101)?.status, .cancelled)
        guard case .created = try create("c", max: 1) else { return XCTFail("not created after cancel") }
        // Deleting a finished job removes it.
        XCTAssertNotNil(try store.cancel("a", now: 102))
        XCTAssertNil(try store.get("a"))
    }

    func testListingPagesByCursorAndFiltersByStatus() throws {
        for i in 0..<5 { try create("j\(i)") }
        _ = try store.claim(owner: "r1", leaseUntil: 200, maxAttempts: 3, now: 100, scratch: dir)
        let first = try store.list(status: nil, cursor: nil, limit: 2)
        XCTAssertEqual(first.jobs.map(\.id), ["j0", "j1"])
        let second = try store.list(status: nil, cursor: first.nextCursor.flatMap { Int64($0) }, limit: 2)
        XCTAssertEqual(second.jobs.map(\.id), ["j2", "j3"])
        let last = try store.list(status: nil, cursor: second.nextCursor.flatMap { Int64($0) }, limit: 2)
        XCTAssertEqual(last.jobs.map(\.id), ["j4"])
        XCTAssertNil(last.nextCursor)
        XCTAssertEqual(try store.list(status: .running, cursor: nil, limit: 10).jobs.map(\.id), ["j0"])
        XCTAssertEqual(try store.counts(), [.queued: 4, .running: 1])
    }

    func testWebhookIsDueOnceFinishedAndRecordsAttempts() throws {
        try create("a", callback: "http://127.0.0.1:9/hook")
        XCTAssertNil(try store.claimDelivery(now: 100, holdUntil: 130))
        _ = try store.claim(owner: "r1", leaseUntil: 200, maxAttempts: 3, now: 100, scratch: dir)
        try store.finish("a", owner: "r1", status: .succeeded, result: "{}", error: nil, progress: nil, now: 110)
        XCTAssertEqual(try store.claimDelivery(now: 111, holdUntil: 140)?.id, "a")
        XCTAssertNil(try store.claimDelivery(now: 112, holdUntil: 140), "held by the first claim")
        try store.recordDelivery("a", WebhookDelivery(at: "t", status: 500, error: "x", durationMs: 1), state: .pending, next: 115)
        XCTAssertEqual(try store.claimDelivery(now: 116, holdUntil: 140)?.deliveries.count, 1)
        try store.recordDelivery("a", WebhookDelivery(at: "t", status: 200, error: nil, durationMs: 1), state: .delivered, next: nil)
        let record = try XCTUnwrap(store.get("a"))
        XCTAssertEqual(record.webhookState, .delivered)
        XCTAssertEqual(record.deliveries.map(\.status), [500, 200])
    }

    func testCallbackURLsAndTheAllowList() {
        let allowed = ["http://127.0.0.1:8123", "http://hooks.example"]
        XCTAssertEqual(CallbackURL("http://127.0.0.1:8123/done?x=1")?.target, "/done?x=1")
        XCTAssertTrue(CallbackURL("http://127.0.0.1:8123/done")!.isAllowed(by: allowed))
        XCTAssertTrue(CallbackURL("http://HOOKS.example/a")!.isAllowed(by: allowed))
        XCTAssertFalse(CallbackURL("http://127.0.0.1:8124/done")!.isAllowed(by: allowed))
        XCTAssertFalse(CallbackURL("http://hooks.example.evil.net/")!.isAllowed(by: allowed))
        XCTAssertFalse(CallbackURL("http://127.0.0.1:8123/")!.isAllowed(by: []))
        let secure = CallbackURL("https://Hooks.Example/a")
        XCTAssertEqual(secure?.origin, "https://hooks.example:443")
        XCTAssertFalse(secure!.isAllowed(by: allowed), "http://hooks.example allows port 80 in the clear only")
        XCTAssertTrue(secure!.isAllowed(by: ["https://hooks.example"]))
        XCTAssertEqual(CallbackURL("http://[::1]:9/x")?.hostHeader, "[::1]:9")
        for bad in ["ftp://x", "http://", "http://u@h/", "http://h:0/", "http://h:99999/", "http://h/a b", String(repeating: "a", count: 3000)] {
            XCTAssertNil(CallbackURL(bad), bad)
        }
    }

    /// The signature a receiver checks: HMAC-SHA256 of "<t>.<body>" (RFC 4231 test case 2 key and data layout).
    func testSignatureIsHMACSHA256OfTimeAndBody() {
        XCTAssertEqual(
            Digest.hmacSHA256(key: "Jefe", Array("what do ya want for nothing?".utf8)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let sig = WebhookSender.signature(secret: "Jefe", time: 12, body: Array("{}".utf8))
        XCTAssertEqual(sig, "t=12,v1=" + Digest.hmacSHA256(key: "Jefe", Array("12.{}".utf8)))
    }
}
