import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Process-wide engine settings. Threading policy (docs/engine.md): worker threads x intra-op
/// threads never exceed the cores; OpenBLAS stays single-threaded and the engine splits work
/// itself on its own pool of parked helper threads. The service runs one worker per core with
/// `intraOpThreads = 1`; a single-stream tool may give one inference all cores.
public enum Engine {
    nonisolated(unsafe) private static var threads = 1

    /// Threads one op is split across (conv tiles, depthwise and pooling rows, small linear
    /// panels, sgemm rows). Set once at start-up through `configure`, which also starts the
    /// helpers it needs and marks the policy as chosen (a settable property here was silently
    /// reset to 1 by the default policy when the first kernel was built).
    public static var intraOpThreads: Int { threads }

    /// The threading policy in one call: each op may use `intraOpThreads` threads, all of them the
    /// engine's own (GEMMs split by rows); OpenBLAS itself stays single-threaded, so its spinning
    /// pool never competes with the workers. Call once before inference starts; with W workers,
    /// pass cores / W and `callers: W` (each caller then gets its own n - 1 helpers; without
    /// enough, a caller that finds every helper busy runs its op inline).
    public static func configure(intraOpThreads n: Int, callers: Int) {
        threads = max(1, n)
        IntraOpPool.shared.reserve(max(1, callers) * (threads - 1))
        BLAS.setThreads(1)
        configured = true
    }

    public static func configure(intraOpThreads n: Int) { configure(intraOpThreads: n, callers: 1) }

    /// The instruction set of the GEMM tiles in use ("avx512" or "avx2"), for logs and benchmarks.
    public static var gemmTile: String { GemmTile.avx512 ? "avx512" : "avx2" }

    nonisolated(unsafe) private static var configured = false

    /// Applies the default policy (1 intra-op thread, single-threaded OpenBLAS) unless `configure`
    /// ran first: OpenBLAS would otherwise start one spinning thread per core in every process.
    /// Called whenever a kernel is built.
    static let applyDefaultPolicy: Void = {
        if !configured { configure(intraOpThreads: 1) }
    }()

    /// Runs body(0..<parts) on up to `intraOpThreads` threads, each part a contiguous range of
    /// `0..<count`: the caller runs part 0, idle pool helpers the others. Inline when one thread
    /// suffices or no helper is free (nested calls, concurrent callers).
    @inline(__always)
    static func parallelRanges(_ count: Int, minimumPerPart: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(minimumPerPart, 1)))
        if parts <= 1 { body(0..<count); return }
        IntraOpPool.shared.run(count, parts: parts, body)
    }
}

/// Helper threads created once and parked between ops. A caller claims free helpers with one
/// compare-and-swap each (never waits for one), hands each a part, runs part 0 itself and waits
/// for its helpers. Helpers spin briefly for the next op before sleeping on a condition variable:
/// ops are 0.05-0.5 ms, and waking a sleeping thread costs tens of microseconds.
final class IntraOpPool: @unchecked Sendable {
    static let shared = IntraOpPool()
    static let maxHelpers = 256
    /// How long a helper polls for its next part, and a caller for its helpers, before sleeping.
    static let spinNanoseconds: UInt64 = 100_000
    static let pureSpinNanoseconds: UInt64 = 5_000

    private let helpers = UnsafeMutablePointer<Helper>.allocate(capacity: IntraOpPool.maxHelpers)
    private let started = Atomic<Int>(0)
    private let growing = Mutex<Void>(())

    /// Starts helper threads until `n` exist (they stay for the life of the process).
    func reserve(_ n: Int) {
        growing.withLock { _ in
            var count = started.load(ordering: .acquiring)
            while count < min(n, IntraOpPool.maxHelpers) {
                let helper = Helper()
                (helpers + count).initialize(to: helper)
                helper.start()
                count += 1
                started.store(count, ordering: .releasing)
            }
        }
    }

    func run(_ count: Int, parts wanted: Int, _ body: (Range<Int>) -> Void) {
        // Claim up to wanted - 1 free helpers, chained through `next` (no allocation).
        var head = -1, claimed = 0
        let available = started.load(ordering: .acquiring)
        var i = 0
        while i < available && claimed < wanted - 1 {
            if helpers[i].claim() { helpers[i].next = head; head = i; claimed += 1 }
            i += 1
        }
        if claimed == 0 { body(0..<count); return }
        let parts = claimed + 1
        // The parts write disjoint outputs; the helpers only borrow the caller's pointers, and the
        // caller takes the closure back from every helper before returning. (withoutActuallyEscaping
        // boxes the closure: the one small heap allocation of a parallel call.)
        withoutActuallyEscaping(body) { f in
            var h = head, p = 1
            while h >= 0 {
                helpers[h].assign(f, (count * p / parts)..<(count * (p + 1) / parts))
                h = helpers[h].next; p += 1
            }
            f(0..<(count / parts))
            // A helper that has not started yet (asleep, or preempted on a busy machine) gets its
            // part taken back rather than waited for; then wait for the ones already running.
            h = head
            while h >= 0 { helpers[h].reclaim(); h = helpers[h].next }
            h = head
            while h >= 0 {
                let following = helpers[h].next  // read first: a freed helper's `next` is its new owner's
                helpers[h].finish()
                h = following
            }
        }
    }
}

/// One helper thread and its mailbox. `state` goes free -> claimed (caller's CAS) -> ready (part
/// assigned) -> running (helper's CAS) -> done -> free (caller, after taking the closure back), so
/// a caller never confuses its helper's completion with a later owner's op. A caller may also take
/// a part back (ready -> claimed) before the helper starts it.
final class Helper: @unchecked Sendable {
    static let free = 0, claimed = 1, ready = 2, running = 3, done = 4

    let state = Atomic<Int>(Helper.free)
    /// Set while the helper (waiting for `ready`) or its caller (waiting for `done`) sleeps on `cond`.
    private let helperSleeps = Atomic<Bool>(false), callerSleeps = Atomic<Bool>(false)
    /// Not an Optional: calling through one reabstracts the closure, a heap allocation per call.
    private var body: (Range<Int>) -> Void = Helper.idle
    private static func idle(_: Range<Int>) {}
    private var range = 0..<0
    /// Next helper claimed by the same caller (-1 ends the chain); written by the owner only.
    var next = -1
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    func start() {
        var thread = pthread_t()
        let arg = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                Unmanaged<Helper>.fromOpaque(arg!).takeRetainedValue().loop()
                return nil
            }, arg)
        precondition(rc == 0, "Engine: cannot start an intra-op helper thread (\(rc))")
        pthread_detach(thread)
    }

    @inline(__always)
    func claim() -> Bool {
        state.compareExchange(expected: Helper.free, desired: Helper.claimed, ordering: .acquiring).exchanged
    }

    func assign(_ f: @escaping (Range<Int>) -> Void, _ r: Range<Int>) {
        body = f
        range = r
        publish(Helper.ready, waking: helperSleeps)
    }

    /// Runs the part on the calling thread if the helper has not started it.
    func reclaim() {
        if state.compareExchange(expected: Helper.ready, desired: Helper.claimed, ordering: .acquiring).exchanged {
            body(range)
        }
    }

    /// Waits for the part to finish (unless reclaimed), takes the closure back, frees the helper.
    func finish() {
        if state.load(ordering: .acquiring) != Helper.claimed { wait(for: Helper.done, sleepFlag: callerSleeps) }
        body = Helper.idle
        state.store(Helper.free, ordering: .releasing)
    }

    private func loop() -> Never {
        while true {
            wait(for: Helper.ready, sleepFlag: helperSleeps)
            if state.compareExchange(expected: Helper.ready, desired: Helper.running, ordering: .acquiring).exchanged {
                runPart()
                publish(Helper.done, waking: callerSleeps)
            }
        }
    }

    /// Not inlined: the helper's copy of the closure is released before `done` is published.
    @inline(never)
    private func runPart() {
        body(range)
    }

    /// Stores the new state; the sequentially consistent store/load pair with `wait` means either
    /// the waiter sees the state or this side sees its sleep flag and signals under the mutex.
    @inline(__always)
    private func publish(_ s: Int, waking sleeper: borrowing Atomic<Bool>) {
        state.store(s, ordering: .sequentiallyConsistent)
        if sleeper.load(ordering: .sequentiallyConsistent) {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
        }
    }

    private func wait(for s: Int, sleepFlag: borrowing Atomic<Bool>) {
        if state.load(ordering: .acquiring) == s { return }
        let start = Helper.now()
        var t = start
        repeat {
            for _ in 0..<64 { if state.load(ordering: .acquiring) == s { return } }
            // Past the first microseconds, yield between polls: if the thread we wait for shares
            // this core (a busy machine), it runs instead of being starved by our spinning.
            if t &- start > IntraOpPool.pureSpinNanoseconds { sched_yield() }
            t = Helper.now()
        } while t &- start < IntraOpPool.spinNanoseconds
        pthread_mutex_lock(mutex)
        sleepFlag.store(true, ordering: .sequentiallyConsistent)
        while state.load(ordering: .sequentiallyConsistent) != s { pthread_cond_wait(cond, mutex) }
        sleepFlag.store(false, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
    }

    @inline(__always)
    private static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
