#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process-wide cache of 64-byte-aligned Float buffers, keyed by exact capacity.
///
/// Tensor storage returns its buffer here when freed, and new tensors of the same size take it
/// back, so a training loop that repeats the same shapes stops calling `malloc` after its first
/// step (and never page-faults fresh memory). Capacities are rounded up to a multiple of 16
/// floats so that nearby sizes share buckets and every buffer can be read a full SIMD16 past
/// its logical end.
///
/// ```swift
/// let p = BufferPool.shared.acquire(1000)     // capacity ≥ 1000, contents undefined
/// BufferPool.shared.release(p, capacity: BufferPool.roundedCapacity(1000))
/// ```
public final class BufferPool: @unchecked Sendable {
    /// The pool every tensor uses.
    public static let shared = BufferPool()

    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var mutex = pthread_mutex_t()
    private var cachedBytes = 0
    /// Buffers cached beyond this many bytes are freed instead of kept.
    public var limitBytes = 1 << 31

    /// Counters for tests and diagnostics: `misses` counts real allocations.
    public private(set) var hits = 0
    public private(set) var misses = 0

    public init() { pthread_mutex_init(&mutex, nil) }

    /// The capacity actually reserved for a request of `count` floats.
    @inline(__always) public static func roundedCapacity(_ count: Int) -> Int {
        max(16, (count + 15) & ~15)
    }

    /// A buffer with room for `capacity` floats (already rounded); contents are undefined.
    public func acquire(capacity: Int) -> UnsafeMutablePointer<Float> {
        pthread_mutex_lock(&mutex)
        if var list = free[capacity], let p = list.popLast() {
            free[capacity] = list
            cachedBytes -= capacity * 4
            hits += 1
            pthread_mutex_unlock(&mutex)
            return p
        }
        misses += 1
        pthread_mutex_unlock(&mutex)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: capacity)
    }

    /// Returns a buffer obtained from `acquire(capacity:)`.
    public func release(_ p: UnsafeMutablePointer<Float>, capacity: Int) {
        pthread_mutex_lock(&mutex)
        if cachedBytes + capacity * 4 <= limitBytes {
            free[capacity, default: []].append(p)
            cachedBytes += capacity * 4
            pthread_mutex_unlock(&mutex)
        } else {
            pthread_mutex_unlock(&mutex)
            UnsafeMutableRawPointer(p).deallocate()
        }
    }

    /// Frees every cached buffer (tensors still alive are unaffected).
    public func trim() {
        pthread_mutex_lock(&mutex)
        let lists = free
        free = [:]
        cachedBytes = 0
        pthread_mutex_unlock(&mutex)
        for (_, list) in lists { for p in list { UnsafeMutableRawPointer(p).deallocate() } }
    }
}

/// The buffer behind one or more tensors (a reshape is a second `Tensor` over the same storage).
/// Its memory comes from and goes back to `BufferPool.shared`.
public final class TensorStorage: @unchecked Sendable {
    /// First element; valid for `capacity` floats.
    public let base: UnsafeMutablePointer<Float>
    /// Floats reserved (≥ the tensor's element count, a multiple of 16).
    public let capacity: Int

    init(count: Int) {
        capacity = BufferPool.roundedCapacity(count)
        base = BufferPool.shared.acquire(capacity: capacity)
    }

    deinit { BufferPool.shared.release(base, capacity: capacity) }
}
