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

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    private var workers: [pthread_t] = []
    private var generation = 0
    private var pending = 0
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
        // The worker counts as having seen every job issued before it exists: a job issued
        // between now and the thread's first lock must still wake it (else `run` waits forever).
        let seen = generation
        pthread_mutex_unlock(&mutex)
        let box = Unmanaged.passRetained(Box(self, index, seen)).toOpaque()
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

    private func workerLoop(index: Int, seen start: Int) {
        var seen = start
        pthread_mutex_lock(&mutex)
        while true {
            while generation == seen { pthread_cond_wait(&wake, &mutex) }
            seen = generation
            guard index < participants, let body = job else { continue }
            let p = participants, n = tasks
            pthread_mutex_unlock(&mutex)
            var t = index
            while t < n { body(t); t += p }
            pthread_mutex_lock(&mutex)
            pending -= 1
            if pending == 0 { pthread_cond_signal(&done) }
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
            pending = p - 1
            generation &+= 1
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            var t = 0
            while t < n { escapable(t); t += p }
            pthread_mutex_lock(&mutex)
            while pending > 0 { pthread_cond_wait(&done, &mutex) }
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
