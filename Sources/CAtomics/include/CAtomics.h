// Atomic loads, stores and counters on plain `long` words, plus a spin-wait hint, for the
// thread pool's spin-then-sleep hand-off. Swift's own `Atomic` needs macOS 15; these compiler
// builtins work on every platform the package supports.
#ifndef SUPERALIGN_CATOMICS_H
#define SUPERALIGN_CATOMICS_H

static inline long ca_load_acquire(const long *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ca_store_release(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Adds `v` and returns the previous value (acquire-release).
static inline long ca_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }

/// Tells the core this is a spin-wait loop (x86 `pause`, arm64 `yield`).
static inline void ca_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

#endif
