import CAtomics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A persistent pool of worker threads for data-parallel kernels.
///
/// `run(tasks:_:)` statically assigns task `t` to participant `t % participants`, and the
/// calling thread is participant 0, so there is no shared work counter and no scheduling
/// nondeterminism. Kernels partition *outputs* across tasks and never split a reduction, which
/// is why every result is bit-identical whatever `threadCount` is.
///
/// The thread count defaults to the environment variable `SUPERALIGN_THREADS` if set, else the
/// number of online CPUs; change it at any time:
///
/// ```swift
/// ThreadPool.shared.threadCount = 1     // serial
/// ThreadPool.shared.run(tasks: 4) { t in work(chunk: t) }
/// ```
///
/// A `run` issued from inside another `run` (or while the pool is busy with another caller)
/// executes serially on the calling thread, so nesting cannot deadlock.
public final class ThreadPool: @unchecked Sendable {
    /// The pool all kernels use.
    public static let shared = ThreadPool()

    /// How long an idle thread spins before it sleeps, in seconds (environment:
    /// `SUPERALIGN_SPIN_US`, microseconds; 0 = always sleep). A sleeping thread takes tens of
    /// microseconds to wake, as long as a small kernel runs, so threads spin through the short
    /// serial gaps between the kernels of a training step and sleep through longer ones.
    public static var spinSeconds: Double = {
        if let env = getenv("SUPERALIGN_SPIN_US"), let us = Double(String(cString: env)), us >= 0 { return us * 1e-6 }
        return 2e-4
    }()

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    private var workers: [pthread_t] = []
    /// Job number; written under `mutex`, read by spinning workers without it.
    private let generation = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    /// Workers still running the current job; the last one to finish brings it to 0.
    private let pending = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    private var participants = 0
    private var tasks = 0
    private var job: ((Int) -> Void)?
    private var busy = false
    private var requested: Int
    /// How many `run` calls actually used more than one thread (diagnostics and tests).
    public private(set) var parallelRuns = 0

    /// Number of threads kernels may use (including the caller), at least 1.
    public var threadCount: Int {
        get { pthread_mutex_lock(&mutex); defer { pthread_mutex_unlock(&mutex) }; return requested }
        set {
            pthread_mutex_lock(&mutex)
            requested = max(1, min(newValue, 64))
            let need = requested - 1 - workers.count
            pthread_mutex_unlock(&mutex)
            if need > 0 { for _ in 0..<need { spawn() } }
        }
    }

    public init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&done, nil)
        generation.initialize(to: 0)
        pending.initialize(to: 0)
        var n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if let env = getenv("SUPERALIGN_THREADS"), let v = Int(String(cString: env)), v > 0 { n = v }
        requested = max(1, min(n, 64))
        for _ in 0..<(requested - 1) { spawn() }
    }

    private final class Box {
        let pool: ThreadPool, index: Int, generation: Int
        init(_ p: ThreadPool, _ i: Int, _ g: Int) { pool = p; index = i; generation = g }
    }

    private func spawn() {
        pthread_mutex_lock(&mutex)
        let index = workers.count + 1
        // The worker must treat jobs posted after this point as new even if it starts late;
        // reading the generation when it starts could skip a job it was counted in.
        let g = generation.pointee
        pthread_mutex_unlock(&mutex)
        let box = Unmanaged.passRetained(Box(self, index, g)).toOpaque()
        var tid = pthread_t()
        #if canImport(Glibc)
        let rc = pthread_create(&tid, nil, { arg in
            let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            b.pool.workerLoop(index: b.index, seen: b.generation)
            return nil
        }, box)
        #else
        let rc = pthread_create(&tid, nil, { arg in
            let b = Unmanaged<Box>.fromOpaque(arg).takeRetainedValue()
            b.pool.workerLoop(index: b.index, seen: b.generation)
            return nil
        }, box)
        #endif
        if rc == 0 {
            pthread_mutex_lock(&mutex)
            workers.append(tid)
            pthread_mutex_unlock(&mutex)
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
        }
    }

    /// Spins until `ready()` holds or `spinSeconds` pass; returns whether it holds.
    @inline(__always) private func spin(until ready: () -> Bool) -> Bool {
        let limit = Self.spinSeconds
        guard limit > 0 else { return ready() }
        var start = 0.0
        var round = 0
        while !ready() {
            for _ in 0..<32 { ca_spin_hint() }
            round += 1
            if round & 15 == 0 {
                let now = monotonicSeconds()
                if start == 0 { start = now } else if now - start > limit { return ready() }
            }
        }
        return true
    }

    private func workerLoop(index: Int, seen start: Int) {
        var seen = start
        while true {
            // Spin on the job number, then sleep on the condition variable; the poster changes
            // the number under the mutex, so a worker that checks it there cannot miss a wake-up.
            let posted = spin { ca_load_acquire(generation) != seen }
            pthread_mutex_lock(&mutex)
            if !posted { while generation.pointee == seen { pthread_cond_wait(&wake, &mutex) } }
            // Read the job under the mutex: its fields belong to exactly this generation, and
            // the caller cannot post another before every participant has finished this one.
            seen = generation.pointee
            let p = participants, n = tasks
            // Only participants take a reference: the caller counts only them before it returns.
            var body = index < p ? job : nil
            pthread_mutex_unlock(&mutex)
            guard index < p else { continue }
            if let run = body {
                var t = index
                while t < n { run(t); t += p }
            }
            // Drop the reference before reporting: once `pending` reaches 0 the caller's
            // `withoutActuallyEscaping` checks that no one still holds its closure.
            body = nil
            if ca_fetch_add(pending, -1) == 1 {
                pthread_mutex_lock(&mutex)
                pthread_cond_signal(&done)
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    /// Runs `body(t)` for every `t` in `0..<tasks`, spread over up to `threadCount` threads, and
    /// returns when all are done. Task `t` runs on participant `t % participants`.
    public func run(tasks n: Int, _ body: (Int) -> Void) {
        guard n > 0 else { return }
        pthread_mutex_lock(&mutex)
        let p = min(n, requested, workers.count + 1)
        if p <= 1 || busy {
            pthread_mutex_unlock(&mutex)
            for t in 0..<n { body(t) }
            return
        }
        busy = true
        parallelRuns &+= 1
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            participants = p
            tasks = n
            ca_store_release(pending, p - 1)
            ca_store_release(generation, generation.pointee &+ 1)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            var t = 0
            while t < n { escapable(t); t += p }
            let finished = spin { ca_load_acquire(pending) == 0 }
            pthread_mutex_lock(&mutex)
            if !finished { while ca_load_acquire(pending) > 0 { pthread_cond_wait(&done, &mutex) } }
            job = nil
        }
        busy = false
        pthread_mutex_unlock(&mutex)
    }

    /// Splits `0..<count` into at most `threadCount` contiguous ranges of whole `grain`-sized
    /// blocks and runs `body` on each; runs serially when `work` (a rough flop/byte count) is
    /// below `threshold`, where waking a thread would cost more than it saves.
    public func parallelRanges(_ count: Int, grain: Int = 1, work: Int, threshold: Int = 1 << 16,
                               _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let blocks = (count + grain - 1) / grain
        let parts = work < threshold ? 1 : min(threadCount, blocks)
        if parts <= 1 { body(0..<count); return }
        run(tasks: parts) { t in
            let b0 = blocks * t / parts, b1 = blocks * (t + 1) / parts
            let lo = min(count, b0 * grain), hi = min(count, b1 * grain)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Seconds on a monotonic clock.
@inline(__always) func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
