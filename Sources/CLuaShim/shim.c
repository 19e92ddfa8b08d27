/*
 * The C side of Superalign's Lua host: budgets, the allocator, the trampoline for Swift host
 * functions, the sandbox's coroutine guards and the message handler. Declarations and the rule
 * they keep (no Lua error ever unwinds through a Swift frame) are in include/CLuaShim.h.
 */
/* clock_gettime and CLOCK_MONOTONIC under strict -std=c11 as well. */
#define _POSIX_C_SOURCE 200809L

#include "CLuaShim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Budgets ---------------------------------------------------------------------------- */

unsigned long long sa_monotonic_ns(void *context) {
    (void)context;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

sa_state *sa_state_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (sa_state *)ud;
}

const char *sa_exceeded_message(int why) {
    switch (why) {
    case SA_EXCEEDED_INSTRUCTIONS: return "instruction budget exceeded";
    case SA_EXCEEDED_TIME: return "time budget exceeded";
    case SA_EXCEEDED_NESTING: return "host call nesting too deep";
    default: return "budget exceeded";
    }
}

/*
 * Charges `steps` units of work (VM instructions, or steps of a host-side loop such as the
 * pattern matcher) and checks the deadline. Returns the SA_EXCEEDED_* reason, 0 when within
 * budget. Never raises: callers decide how to report.
 */
int sa_charge(sa_state *s, long long steps) {
    if (!s->active) return SA_EXCEEDED_NONE;
    if (s->exceeded) return s->exceeded;
    s->instr_used += steps;
    if (s->instr_limit > 0 && s->instr_used > s->instr_limit) {
        s->exceeded = SA_EXCEEDED_INSTRUCTIONS;
    } else if (s->deadline_ns != 0 && s->clock(s->clock_context) > s->deadline_ns) {
        s->exceeded = SA_EXCEEDED_TIME;
    }
    return s->exceeded;
}

/*
 * The count hook. Once a budget is exceeded it fires on every instruction of that coroutine and
 * raises each time, so a plugin that catches the error with pcall cannot run one more
 * instruction: the error always reaches the host.
 */
void sa_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    sa_state *s = sa_state_of(L);
    int count = lua_gethookcount(L);
    if (!s->active) {
        if (count != SA_HOOK_INTERVAL) lua_sethook(L, sa_hook, LUA_MASKCOUNT, SA_HOOK_INTERVAL);
        return;
    }
    int why = sa_charge(s, count);
    if (why != SA_EXCEEDED_NONE) {
        if (count != 1) lua_sethook(L, sa_hook, LUA_MASKCOUNT, 1);
        /* The error leaves this thread's hooks disabled (see "Coroutines" below). The main
         * thread's are restored by the protected call that catches it. */
        if (L != s->main_thread) *(unsigned char *)lua_getextraspace(L) = 1;
        luaL_error(L, "%s", sa_exceeded_message(why));
    } else if (count != SA_HOOK_INTERVAL) {
        lua_sethook(L, sa_hook, LUA_MASKCOUNT, SA_HOOK_INTERVAL);
    }
}

/* The allocator: counts every byte and refuses growth past the cap while plugin code runs. */
void *sa_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    sa_state *s = (sa_state *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        s->mem_used -= old;
        return NULL;
    }
    if (nsize > old && s->enforcing && s->mem_used - old + nsize > s->mem_limit) {
        s->mem_refused = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) return NULL;
    s->mem_used = s->mem_used - old + nsize;
    if (s->mem_used > s->mem_peak) s->mem_peak = s->mem_used;
    return p;
}

/* ---- State ------------------------------------------------------------------------------ */

/* A new state whose allocator and hook report to `s`. The hook stays installed for life, so
 * every coroutine (they inherit it) runs under the budget. */
lua_State *sa_newstate(sa_state *s) {
    if (s->clock == NULL) s->clock = sa_monotonic_ns;
    lua_State *L = lua_newstate(sa_alloc, s);
    if (L == NULL) return NULL;
    s->main_thread = L;
    /* New threads copy the main thread's extra space, which Lua leaves uninitialized. */
    memset(lua_getextraspace(L), 0, LUA_EXTRASPACE);
    lua_sethook(L, sa_hook, LUA_MASKCOUNT, SA_HOOK_INTERVAL);
    return L;
}

/* Resets the budget for a new plugin call (or the load phase, or shutdown). */
void sa_begin(lua_State *L, sa_state *s, long long instr_limit, unsigned long long budget_ns) {
    s->instr_used = 0;
    s->instr_limit = instr_limit;
    s->deadline_ns = budget_ns ? s->clock(s->clock_context) + budget_ns : 0;
    s->exceeded = SA_EXCEEDED_NONE;
    s->forbidden = 0;
    s->mem_refused = 0;
    s->host_depth = 0;
    s->active = 1;
    s->enforcing = 1;
    if (lua_gethookcount(L) != SA_HOOK_INTERVAL) lua_sethook(L, sa_hook, LUA_MASKCOUNT, SA_HOOK_INTERVAL);
}

void sa_end(sa_state *s) {
    s->active = 0;
    s->enforcing = 0;
}

/* ---- Host functions --------------------------------------------------------------------- */

/*
 * Every Swift host function is this C closure with upvalue 1 = light userdata naming the Swift
 * function. Swift returns the number of results (>= 0), or -1 with an error value pushed, or -2
 * with an error value pushed for a sandbox refusal. The memory cap is lifted while Swift runs
 * (a refused allocation inside Swift would longjmp through it); an overdraft is reported as a
 * memory error as soon as Swift has returned.
 */
static int sa_trampoline(lua_State *L) {
    sa_state *s = sa_state_of(L);
    void *fn = lua_touserdata(L, lua_upvalueindex(1));
    if (s->active && s->host_depth >= s->host_depth_limit) {
        s->exceeded = SA_EXCEEDED_NESTING;
        lua_sethook(L, sa_hook, LUA_MASKCOUNT, 1);
        return luaL_error(L, "%s", sa_exceeded_message(SA_EXCEEDED_NESTING));
    }
    int was_enforcing = s->enforcing;
    s->enforcing = 0;
    s->host_depth++;
    int n = s->dispatch(L, fn, s->host);
    s->host_depth--;
    s->enforcing = was_enforcing;
    /* A budget exceeded inside the host (the pattern matcher, a nested call) stops this thread
     * at its next instruction, as the hook does, so pcall cannot swallow it. */
    if (s->active && s->exceeded) lua_sethook(L, sa_hook, LUA_MASKCOUNT, 1);
    if (n == -2) { s->forbidden = 1; return lua_error(L); }
    if (n < 0) return lua_error(L);
    if (s->exceeded) return luaL_error(L, "%s", sa_exceeded_message(s->exceeded));
    if (was_enforcing && s->mem_used > s->mem_limit) {
        s->mem_refused = 1;
        lua_pushliteral(L, "not enough memory");
        return lua_error(L);
    }
    return n;
}

void sa_pushhostfunction(lua_State *L, void *fn) {
    lua_pushlightuserdata(L, fn);
    lua_pushcclosure(L, sa_trampoline, 1);
}

/* ---- Read-only proxies (host API tables) ------------------------------------------------- */

/* next() over the real table behind a proxy: (real, key) -> key, value */
static int sa_proxy_next(lua_State *L) {
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

/* __pairs for a proxy whose real table is upvalue 1 */
static int sa_proxy_pairs(lua_State *L) {
    lua_pushcfunction(L, sa_proxy_next);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushnil(L);
    return 3;
}

void sa_push_proxy_pairs(lua_State *L) { lua_pushcclosure(L, sa_proxy_pairs, 1); }

/* ---- Coroutines and message handlers ---------------------------------------------------- */

/*
 * Two gaps the count hook leaves, closed here.
 *
 * 1. The hook is per thread: once the budget is exceeded every thread stops at its next hook, but
 *    a thread entered after that gets a fresh hook interval, and a plugin that keeps creating and
 *    resuming coroutines could multiply those intervals without end. So entering a coroutine
 *    (resume, a function made by coroutine.wrap, close with its __close handlers) is refused once
 *    the budget is exceeded.
 *
 * 2. Lua disables hooks while a hook runs, and an error raised from the hook leaves them disabled
 *    until a protected call catches it. Until then Lua runs code without any hook: the message
 *    handler of an xpcall, and, in a coroutine the error killed, the __close handlers that
 *    coroutine.close or coroutine.wrap run on it later (even in a later call). So plugin message
 *    handlers are refused once the budget is exceeded (the only case in which one runs with
 *    hooks disabled), and a coroutine the hook's error killed is marked in its extra space; its
 *    __close handlers never run.
 */
#define SA_KILLED_BY_HOOK(L) (*(unsigned char *)lua_getextraspace(L))

static int sa_refuse_exceeded(lua_State *L, sa_state *s) {
    lua_sethook(L, sa_hook, LUA_MASKCOUNT, 1);
    return luaL_error(L, "%s", sa_exceeded_message(s->exceeded));
}

/* Upvalue 1: the function guarded; upvalue 2: SA_GUARD_*. */
static int sa_guard_call(lua_State *L) {
    sa_state *s = sa_state_of(L);
    if (s->active && s->exceeded) return sa_refuse_exceeded(L, s);
    if (lua_tointeger(L, lua_upvalueindex(2)) == SA_GUARD_CLOSE) {
        lua_State *co = lua_tothread(L, 1);
        if (co != NULL && SA_KILLED_BY_HOOK(co)) {
            lua_pushboolean(L, 0);
            lua_pushliteral(L, "coroutine was stopped by the budget; its __close handlers do not run");
            return 2;
        }
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* guard(f, mode): f behind the budget guard (for the sandbox prelude). */
static int sa_guard_factory(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_Integer mode = luaL_optinteger(L, 2, SA_GUARD_PLAIN);
    lua_settop(L, 1);
    lua_pushinteger(L, mode);
    lua_pushcclosure(L, sa_guard_call, 2);
    return 1;
}

/* The function coroutine.wrap makes: Lua 5.4.4's auxwrap, refused once the budget is exceeded,
 * and leaving a coroutine killed by the hook's error unclosed. Upvalue 1: the coroutine. */
static int sa_auxwrap(lua_State *L) {
    sa_state *s = sa_state_of(L);
    if (s->active && s->exceeded) return sa_refuse_exceeded(L, s);
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int narg = lua_gettop(L), nres, status;
    if (!lua_checkstack(co, narg)) return luaL_error(L, "too many arguments to resume");
    lua_xmove(L, co, narg);
    status = lua_resume(co, L, narg, &nres);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            return luaL_error(L, "too many results to resume");
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);  /* the error */
    int stat = lua_status(co);
    if (stat != LUA_OK && stat != LUA_YIELD && !SA_KILLED_BY_HOOK(co)) {
        stat = lua_resetthread(co);  /* close its tbc variables */
        lua_xmove(co, L, 1);
    }
    if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int sa_cowrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, sa_auxwrap, 1);
    return 1;
}

void sa_pushguardfactory(lua_State *L) { lua_pushcfunction(L, sa_guard_factory); }
void sa_pushcowrap(lua_State *L) { lua_pushcfunction(L, sa_cowrap); }

/* ---- Errors ----------------------------------------------------------------------------- */

/*
 * Message handler for every protected call into a plugin. It never calls a metamethod
 * unprotected: a table error object with a __tostring that fails or loops is still reported.
 * Leaves a table {message=, source=, line=, traceback=} as the error value.
 */
static int sa_tostring_protected(lua_State *L) {
    luaL_tolstring(L, 1, NULL);
    return 1;
}

int sa_msghandler(lua_State *L) {
    int err = lua_gettop(L);
    const char *text = NULL;
    if (lua_type(L, err) == LUA_TSTRING) {
        text = lua_tostring(L, err);
        lua_pushstring(L, text);
    } else if (lua_type(L, err) == LUA_TNUMBER) {
        lua_pushvalue(L, err);
        lua_tolstring(L, -1, NULL); /* converts the copy in place */
    } else if (luaL_getmetafield(L, err, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushcfunction(L, sa_tostring_protected);
        lua_pushvalue(L, err);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            lua_pushfstring(L, "(error object is a %s value whose __tostring failed)", luaL_typename(L, err));
        }
    } else if (lua_isnil(L, err)) {
        lua_pushliteral(L, "(error object is nil)");
    } else {
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, err));
    }
    /* stack: err, message */
    lua_createtable(L, 0, 4);
    lua_insert(L, -2);
    lua_setfield(L, -2, "message");
    /* innermost Lua frame: where the error happened */
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0 && strcmp(ar.short_src, SA_SANDBOX_CHUNK) != 0) {
            /* The whole file name ("@path"), not short_src, which keeps only LUA_IDSIZE bytes. */
            if (ar.source[0] == '@' || ar.source[0] == '=') lua_pushstring(L, ar.source + 1);
            else lua_pushstring(L, ar.short_src);
            lua_setfield(L, -2, "source");
            lua_pushinteger(L, ar.currentline);
            lua_setfield(L, -2, "line");
            break;
        }
    }
    luaL_traceback(L, L, NULL, 1);
    lua_setfield(L, -2, "traceback");
    return 1;
}

void sa_pushmsghandler(lua_State *L) { lua_pushcfunction(L, sa_msghandler); }

/* Opens one standard library as a global; the sandbox prelude then rebuilds it from the allow-list. */
void sa_openlib(lua_State *L, const char *name) {
    lua_CFunction f = NULL;
    if (strcmp(name, "_G") == 0) f = luaopen_base;
    else if (strcmp(name, "string") == 0) f = luaopen_string;
    else if (strcmp(name, "table") == 0) f = luaopen_table;
    else if (strcmp(name, "math") == 0) f = luaopen_math;
    else if (strcmp(name, "utf8") == 0) f = luaopen_utf8;
    else if (strcmp(name, "coroutine") == 0) f = luaopen_coroutine;
    if (f == NULL) { lua_pushnil(L); return; }
    luaL_requiref(L, name, f, 1);
}
