/*
 * The C side of Superalign's Lua host (the definitions are in ../shim.c).
 *
 * Swift cannot import lua.h's function-like macros or variadic functions, so thin wrappers stand
 * in for them. More importantly, Debian's liblua is C and raises errors with longjmp, which would
 * skip Swift cleanups. The rule kept here: no Lua error ever unwinds through a Swift frame.
 * Everything that may raise (the budget hook, the memory cap, errors reported by Swift host
 * functions) is raised from C, and Swift host functions are called through a C trampoline that
 * turns their status into lua_error after the Swift frame has returned.
 *
 * Scripts/tests/shim-sanitizers.sh compiles shim.c with -Wall -Wextra -Werror under
 * AddressSanitizer and UndefinedBehaviorSanitizer, with a C driver (shim_driver.c beside it)
 * that runs the budget, allocator, trampoline and coroutine paths against liblua5.4.
 */
#ifndef SUPERALIGN_CLUASHIM_H
#define SUPERALIGN_CLUASHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>

/* ---- Budgets ---------------------------------------------------------------------------- */

/* Why a plugin call stopped early. */
enum {
    SA_EXCEEDED_NONE = 0,
    SA_EXCEEDED_INSTRUCTIONS = 1,
    SA_EXCEEDED_TIME = 2,
    SA_EXCEEDED_NESTING = 3,
};

/* The short source name of the sandbox's own Lua code; its frames are hidden from error locations. */
#define SA_SANDBOX_CHUNK "(sandbox)"

/* The count hook fires every SA_HOOK_INTERVAL VM instructions while a plugin runs. */
#define SA_HOOK_INTERVAL 1000

typedef unsigned long long (*sa_clock_fn)(void *context);
/*
 * A Swift host function, called by the trampoline: returns the number of results (>= 0), or -1
 * with an error value pushed, or -2 with an error value pushed for a sandbox refusal.
 */
typedef int (*sa_dispatch_fn)(lua_State *L, void *function, void *host);

/*
 * Per-state budget and host hooks. One lives beside every lua_State (as the allocator's user
 * data) and is shared by all its coroutines.
 */
typedef struct sa_state {
    /* memory (bytes) */
    size_t mem_used, mem_limit, mem_peak;
    int enforcing;          /* 1 while plugin code runs; the host itself is never refused */
    int mem_refused;        /* an allocation was refused during the current call */
    /* instructions and wall time */
    int active;             /* budget checks on (plugin code running) */
    long long instr_used, instr_limit;
    unsigned long long deadline_ns;     /* 0: no deadline */
    sa_clock_fn clock;
    void *clock_context;
    int exceeded;           /* SA_EXCEEDED_* */
    int forbidden;          /* a sandbox rule refused an operation during the current call */
    int host_depth, host_depth_limit;   /* nesting of host (Swift) calls */
    lua_State *main_thread;
    /* host functions */
    sa_dispatch_fn dispatch;
    void *host;
} sa_state;

/* CLOCK_MONOTONIC in nanoseconds (the default clock; `context` is unused). */
unsigned long long sa_monotonic_ns(void *context);

/* The sa_state of `L` (any thread of the state). */
sa_state *sa_state_of(lua_State *L);

/* "instruction budget exceeded", … for an SA_EXCEEDED_* reason. */
const char *sa_exceeded_message(int why);

/*
 * Charges `steps` units of work (VM instructions, or steps of a host-side loop such as the
 * pattern matcher) and checks the deadline. Returns the SA_EXCEEDED_* reason, 0 when within
 * budget. Never raises: callers decide how to report.
 */
int sa_charge(sa_state *s, long long steps);

/* The count hook (installed by sa_newstate and sa_begin). */
void sa_hook(lua_State *L, lua_Debug *ar);

/* The allocator: counts every byte and refuses growth past the cap while plugin code runs. */
void *sa_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* ---- State ------------------------------------------------------------------------------ */

/* A new state whose allocator and hook report to `s` (a NULL clock becomes sa_monotonic_ns).
 * The hook stays installed for life, so every coroutine (they inherit it) runs under the budget. */
lua_State *sa_newstate(sa_state *s);

/* Resets the budget for a new plugin call (or the load phase, or shutdown): `instr_limit` VM
 * instructions (0: none) and `budget_ns` nanoseconds of wall time (0: none). */
void sa_begin(lua_State *L, sa_state *s, long long instr_limit, unsigned long long budget_ns);

/* Budget checks and the memory cap off (the host runs). */
void sa_end(sa_state *s);

/* ---- Host functions --------------------------------------------------------------------- */

/*
 * Pushes the Lua face of a host function: a C closure (the trampoline) with upvalue 1 = light
 * userdata `fn`, called through `dispatch`. The memory cap is lifted while the host runs (a
 * refused allocation inside Swift would longjmp through it); an overdraft is reported as a
 * memory error as soon as the host has returned.
 */
void sa_pushhostfunction(lua_State *L, void *fn);

/* ---- Read-only proxies (host API tables) ------------------------------------------------- */

/* Pops a table and pushes a __pairs function for proxies of it (iterates the real table). */
void sa_push_proxy_pairs(lua_State *L);

/* ---- Coroutines and message handlers ---------------------------------------------------- */

/* Modes of the budget guard (see sa_pushguardfactory). */
enum { SA_GUARD_PLAIN = 0, SA_GUARD_CLOSE = 1 };

/*
 * Pushes guard(f, mode): f behind the budget guard, refused once the budget is exceeded; with
 * SA_GUARD_CLOSE (coroutine.close) a coroutine the budget stopped is not closed. For the
 * sandbox prelude.
 */
void sa_pushguardfactory(lua_State *L);

/* Pushes the sandbox's coroutine.wrap (see "Coroutines" in shim.c). */
void sa_pushcowrap(lua_State *L);

/* ---- Errors ----------------------------------------------------------------------------- */

/*
 * The message handler for every protected call into a plugin (a lua_CFunction). It never calls
 * a metamethod unprotected. Leaves a table {message=, source=, line=, traceback=} as the error.
 */
int sa_msghandler(lua_State *L);
void sa_pushmsghandler(lua_State *L);

/* Opens one standard library ("_G", "string", "table", "math", "utf8", "coroutine") as a
 * global; any other name pushes nil. The sandbox prelude then rebuilds it from the allow-list. */
void sa_openlib(lua_State *L, const char *name);

/* ---- Macro wrappers --------------------------------------------------------------------- */

/* lua.h macros and the registry pseudo-index, for Swift, which cannot import them. Kept inline:
 * each is one call into liblua, and marshalling calls them once per value. */
static inline int sa_pcall(lua_State *L, int nargs, int nresults, int msgh) { return lua_pcall(L, nargs, nresults, msgh); }
static inline void sa_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void sa_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *sa_tolstring(lua_State *L, int idx, size_t *len) { return lua_tolstring(L, idx, len); }
static inline int sa_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline void sa_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline int sa_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int sa_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void sa_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
static inline int sa_loadbuffer(lua_State *L, const char *buf, size_t len, const char *name, const char *mode) {
    return luaL_loadbufferx(L, buf, len, name, mode);
}
static inline int sa_gc_count_kb(lua_State *L) { return lua_gc(L, LUA_GCCOUNT, 0); }
static inline void sa_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }
static inline int sa_ref(lua_State *L) { return luaL_ref(L, LUA_REGISTRYINDEX); }
static inline void sa_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
static inline int sa_getref(lua_State *L, int ref) { return lua_rawgeti(L, LUA_REGISTRYINDEX, ref); }

#endif
