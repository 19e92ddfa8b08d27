/*
 * Drives Sources/CLuaShim/shim.c against liblua5.4 without Swift, so that it can run under
 * AddressSanitizer and UndefinedBehaviorSanitizer (Scripts/tests/shim-sanitizers.sh builds and
 * runs it). Each case prints "ok NAME" or "FAIL NAME: why"; the exit status is the number of
 * failures (0: all passed). The Swift tests (Tests/LuaHostTests) check the same paths through
 * LuaHost; this driver checks the C itself: memory errors, undefined behaviour, leaks, and the
 * byte accounting of the allocator.
 */
#include "CLuaShim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static const char *current = "";

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "FAIL %s (line %d): ", current, __LINE__);    \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
            failures++;                                                   \
            return;                                                       \
        }                                                                 \
    } while (0)

/* ---- The host: a dispatcher over C "host functions" ----------------------------------------- */

typedef int (*host_fn)(lua_State *L, sa_state *s);

static int dispatch(lua_State *L, void *function, void *host) {
    /* A function pointer travels as a light userdata holding a pointer to it. */
    host_fn f = *(host_fn *)function;
    return f(L, (sa_state *)host);
}

/* add(a, b) -> a + b */
static int host_add(lua_State *L, sa_state *s) {
    (void)s;
    lua_pushinteger(L, luaL_checkinteger(L, 1) + luaL_checkinteger(L, 2));
    return 1;
}
/* fail(msg): an error reported by status -1 (no longjmp through the "host") */
static int host_fail(lua_State *L, sa_state *s) {
    (void)s;
    lua_pushfstring(L, "host says: %s", lua_tostring(L, 1));
    return -1;
}
/* forbid(): a sandbox refusal (status -2) */
static int host_forbid(lua_State *L, sa_state *s) {
    (void)s;
    lua_pushliteral(L, "forbidden by the host");
    return -2;
}
/* big(n): allocates an n-byte string while the cap is lifted; an overdraft is reported after. */
static int host_big(lua_State *L, sa_state *s) {
    (void)s;
    size_t n = (size_t)luaL_checkinteger(L, 1);
    char *buf = malloc(n);
    if (buf == NULL) return 0;
    memset(buf, 'x', n);
    lua_pushlstring(L, buf, n);
    free(buf);
    return 1;
}
/* call(f, ...): calls back into Lua from the host (nesting), unprotected as LuaHost never does;
 * here only within budget. */
static int host_call(lua_State *L, sa_state *s) {
    (void)s;
    int n = lua_gettop(L);
    lua_call(L, n - 1, 1);
    return 1;
}
/* charge(steps): a host loop charging the budget, as the pattern matcher does. */
static int host_charge(lua_State *L, sa_state *s) {
    int why = sa_charge(s, luaL_checkinteger(L, 1));
    lua_pushinteger(L, why);
    return 1;
}

static host_fn fn_add = host_add, fn_fail = host_fail, fn_forbid = host_forbid, fn_big = host_big,
               fn_call = host_call, fn_charge = host_charge;

/* A clock that advances 1 ms per read. */
static unsigned long long fake_now = 0;
static unsigned long long tick_clock(void *context) {
    (void)context;
    fake_now += 1000000ull;
    return fake_now;
}

typedef struct {
    sa_state s;
    lua_State *L;
} host_state;

static void open_state(host_state *h, size_t mem_limit) {
    memset(&h->s, 0, sizeof h->s);
    h->s.mem_limit = mem_limit;
    h->s.host_depth_limit = 4;
    h->s.dispatch = dispatch;
    h->s.host = &h->s;
    h->L = sa_newstate(&h->s);
    lua_State *L = h->L;
    const char *libs[] = {"_G", "string", "table", "math", "utf8", "coroutine"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        sa_openlib(L, libs[i]);
        lua_settop(L, 0);
    }
    struct { const char *name; host_fn *fn; } fns[] = {
        {"add", &fn_add}, {"fail", &fn_fail}, {"forbid", &fn_forbid},
        {"big", &fn_big}, {"call", &fn_call}, {"charge", &fn_charge},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        sa_pushhostfunction(L, fns[i].fn);
        lua_setglobal(L, fns[i].name);
    }
    sa_pushguardfactory(L);
    lua_setglobal(L, "guard");
    sa_pushcowrap(L);
    lua_setglobal(L, "cowrap");
}

/* Frees the state; every byte the allocator counted must have been returned. */
static int close_state(host_state *h) {
    sa_end(&h->s);
    lua_close(h->L);
    return h->s.mem_used == 0;
}

/* Runs `code` as a plugin call under the budget; returns the lua_pcall status and leaves the
 * message handler's table (or the results) on the stack above index 1. */
static int run(host_state *h, const char *code, long long instructions, unsigned long long ns) {
    lua_State *L = h->L;
    lua_settop(L, 0);
    sa_pushmsghandler(L);
    int status = sa_loadbuffer(L, code, strlen(code), "=driver", "t");
    if (status != LUA_OK) return status;
    sa_begin(L, &h->s, instructions, ns);
    status = sa_pcall(L, 0, LUA_MULTRET, 1);
    sa_end(&h->s);
    return status;
}

/* The "message" field of the error table at the top of the stack. */
static const char *error_message(lua_State *L) {
    if (!lua_istable(L, -1)) return lua_tostring(L, -1);
    lua_getfield(L, -1, "message");
    const char *m = lua_tostring(L, -1);
    lua_pop(L, 1);
    return m ? m : "(no message)";
}

static lua_Integer error_line(lua_State *L) {
    lua_getfield(L, -1, "line");
    lua_Integer line = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return line;
}

/* ---- Cases ---------------------------------------------------------------------------------- */

static void test_results_and_wrappers(void) {
    current = "results and macro wrappers";
    host_state h;
    open_state(&h, 64u << 20);
    int st = run(&h, "return add(40, 2), string.rep('ab', 3), #utf8.char(228)", 100000, 0);
    CHECK(st == LUA_OK, "status %d: %s", st, error_message(h.L));
    CHECK(lua_gettop(h.L) == 4, "results %d", lua_gettop(h.L) - 1);
    CHECK(lua_tointeger(h.L, 2) == 42, "add");
    size_t len = 0;
    const char *s = sa_tolstring(h.L, 3, &len);
    CHECK(s != NULL && len == 6 && strcmp(s, "ababab") == 0, "rep");
    CHECK(lua_tointeger(h.L, 4) == 2, "utf8");
    CHECK(sa_isnoneornil(h.L, 10) && !sa_isnoneornil(h.L, 2), "isnoneornil");
    sa_newtable(h.L);
    lua_pushinteger(h.L, 7);
    lua_setfield(h.L, -2, "x");
    int ref = sa_ref(h.L);
    CHECK(sa_getref(h.L, ref) == LUA_TTABLE, "ref");
    lua_getfield(h.L, -1, "x");
    CHECK(lua_tointeger(h.L, -1) == 7, "ref contents");
    sa_pop(h.L, 2);
    sa_unref(h.L, ref);
    lua_rawgeti(h.L, sa_registryindex(), LUA_RIDX_GLOBALS);
    sa_pushglobaltable(h.L);
    CHECK(lua_rawequal(h.L, -1, -2), "globals");
    sa_pop(h.L, 2);
    sa_openlib(h.L, "io");
    CHECK(lua_isnil(h.L, -1), "io is never opened");
    CHECK(sa_gc_count_kb(h.L) > 0, "gc count");
    sa_gc_collect(h.L);
    CHECK(h.s.mem_peak >= h.s.mem_used, "peak");
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

static void test_instruction_budget(void) {
    current = "instruction budget (pcall cannot swallow it)";
    host_state h;
    open_state(&h, 64u << 20);
    int st = run(&h, "while true do pcall(function() while true do end end) end", 200000, 0);
    CHECK(st == LUA_ERRRUN, "status %d", st);
    CHECK(strstr(error_message(h.L), "instruction budget exceeded") != NULL, "message: %s", error_message(h.L));
    CHECK(h.s.exceeded == SA_EXCEEDED_INSTRUCTIONS, "exceeded %d", h.s.exceeded);
    CHECK(h.s.instr_used > 200000, "used %lld", h.s.instr_used);
    /* The next call starts afresh. */
    st = run(&h, "local n = 0 for i = 1, 1000 do n = n + i end return n", 200000, 0);
    CHECK(st == LUA_OK && lua_tointeger(h.L, 2) == 500500, "after the budget: status %d", st);
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

static void test_time_budget(void) {
    current = "time budget";
    host_state h;
    open_state(&h, 64u << 20);
    h.s.clock = tick_clock;
    int st = run(&h, "while true do end", 0, 50ull * 1000000ull);
    CHECK(st == LUA_ERRRUN, "status %d", st);
    CHECK(h.s.exceeded == SA_EXCEEDED_TIME, "exceeded %d", h.s.exceeded);
    CHECK(strstr(error_message(h.L), "time budget exceeded") != NULL, "message: %s", error_message(h.L));
    /* A host loop charging the budget sees it exceeded too, and the trampoline stops the caller. */
    st = run(&h, "local why repeat why = charge(1) until why ~= 0 return why", 0, 50ull * 1000000ull);
    CHECK(st == LUA_ERRRUN && h.s.exceeded == SA_EXCEEDED_TIME, "host loop: status %d, exceeded %d", st, h.s.exceeded);
    CHECK(strcmp(sa_exceeded_message(SA_EXCEEDED_NESTING), "host call nesting too deep") == 0, "nesting message");
    CHECK(strcmp(sa_exceeded_message(99), "budget exceeded") == 0, "unknown reason");
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

static void test_memory_cap(void) {
    current = "memory cap and byte accounting";
    host_state h;
    open_state(&h, 4u << 20);
    size_t before = h.s.mem_used;
    int st = run(&h, "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end", 0, 0);
    CHECK(st == LUA_ERRMEM || st == LUA_ERRRUN, "status %d", st);
    CHECK(h.s.mem_refused == 1, "mem_refused");
    CHECK(h.s.mem_peak <= h.s.mem_limit, "peak %zu over the limit %zu", h.s.mem_peak, h.s.mem_limit);
    lua_settop(h.L, 0);
    sa_gc_collect(h.L);
    /* (The string table keeps some of its growth until later collections shrink it.) */
    CHECK(h.s.mem_used < before + (1u << 20), "garbage not returned: %zu before, %zu after", before, h.s.mem_used);
    /* An overdraft made by the host (cap lifted while it runs) is a memory error once it returns. */
    st = run(&h, "local s = big(8 * 1024 * 1024) return #s", 0, 0);
    CHECK(st == LUA_ERRRUN || st == LUA_ERRMEM, "overdraft: status %d", st);
    CHECK(strstr(error_message(h.L), "not enough memory") != NULL, "message: %s", error_message(h.L));
    CHECK(h.s.mem_refused == 1, "overdraft: mem_refused");
    /* The host itself is never refused. */
    lua_settop(h.L, 0);
    lua_pushstring(h.L, "outside a plugin call");
    size_t n = 6u << 20;
    char *buf = malloc(n);
    CHECK(buf != NULL, "malloc");
    memset(buf, 'y', n);
    lua_pushlstring(h.L, buf, n);
    free(buf);
    CHECK(h.s.mem_used > h.s.mem_limit, "host allocation past the cap");
    lua_settop(h.L, 0);
    CHECK(close_state(&h), "bytes left after lua_close: %zu", h.s.mem_used);
    printf("ok %s\n", current);
}

static void test_trampoline_statuses(void) {
    current = "trampoline: errors, refusals, nesting";
    host_state h;
    open_state(&h, 64u << 20);
    int st = run(&h, "local ok, e = pcall(fail, 'nope') return ok, e", 100000, 0);
    CHECK(st == LUA_OK && !lua_toboolean(h.L, 2), "status %d", st);
    CHECK(strcmp(lua_tostring(h.L, 3), "host says: nope") == 0, "message %s", lua_tostring(h.L, 3));
    st = run(&h, "\n\nforbid()", 100000, 0);
    CHECK(st == LUA_ERRRUN && h.s.forbidden == 1, "forbid: status %d, forbidden %d", st, h.s.forbidden);
    CHECK(strcmp(error_message(h.L), "forbidden by the host") == 0, "forbid message %s", error_message(h.L));
    /* Too deep: call(call(call(...))) past host_depth_limit. */
    st = run(&h, "local function f(n) if n == 0 then return 0 end return call(f, n - 1) end return f(10)", 100000, 0);
    CHECK(st == LUA_ERRRUN && h.s.exceeded == SA_EXCEEDED_NESTING, "nesting: status %d, exceeded %d", st, h.s.exceeded);
    CHECK(strstr(error_message(h.L), "host call nesting too deep") != NULL, "nesting message %s", error_message(h.L));
    st = run(&h, "return call(add, 1, 2)", 100000, 0);
    CHECK(st == LUA_OK && lua_tointeger(h.L, 2) == 3, "shallow nesting: status %d", st);
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

static void test_message_handler(void) {
    current = "message handler: error objects and locations";
    host_state h;
    open_state(&h, 64u << 20);
    struct { const char *code; const char *message; lua_Integer line; } cases[] = {
        {"\nerror('plain')", "driver:2: plain", 2},
        {"error(42)", "42", 0},
        {"error(nil)", "(error object is nil)", 0},
        {"error({})", "(error object is a table value)", 0},
        {"error(setmetatable({}, {__tostring = function() return 'custom' end}))", "custom", 0},
        {"error(setmetatable({}, {__tostring = function() error('again') end}))",
         "(error object is a table value whose __tostring failed)", 0},
        {"error(setmetatable({}, {__tostring = function() return {} end}))",
         "(error object is a table value whose __tostring failed)", 0},
        {"\n\n\nlocal x = nil; return x.y", "attempt to index a nil value", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = run(&h, cases[i].code, 100000, 0);
        CHECK(st == LUA_ERRRUN, "case %zu: status %d", i, st);
        CHECK(lua_istable(h.L, -1), "case %zu: not a table", i);
        CHECK(strstr(error_message(h.L), cases[i].message) != NULL, "case %zu: message '%s'", i, error_message(h.L));
        if (cases[i].line) CHECK(error_line(h.L) == cases[i].line, "case %zu: line %lld", i, (long long)error_line(h.L));
        lua_getfield(h.L, -1, "traceback");
        CHECK(lua_isstring(h.L, -1), "case %zu: traceback", i);
        lua_pop(h.L, 1);
    }
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

static void test_coroutines(void) {
    current = "coroutine guards and wrap";
    host_state h;
    open_state(&h, 64u << 20);
    /* cowrap behaves like coroutine.wrap within budget, errors included. */
    int st = run(&h,
                 "local f = cowrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)\n"
                 "local x = f(1) local y = f(10)\n"
                 "local g = cowrap(function() error('inside') end)\n"
                 "local ok, e = pcall(g)\n"
                 "return x, y, ok, e",
                 100000, 0);
    CHECK(st == LUA_OK, "status %d: %s", st, error_message(h.L));
    CHECK(lua_tointeger(h.L, 2) == 2 && lua_tointeger(h.L, 3) == 20, "values");
    CHECK(!lua_toboolean(h.L, 4) && strstr(lua_tostring(h.L, 5), "inside") != NULL, "error %s", lua_tostring(h.L, 5));
    /* Once the budget is exceeded (here inside a coroutine, whose error resume catches), the main
     * thread runs on until its own next hook; a guarded resume refuses to enter a fresh coroutine
     * in that window, an unguarded one would give it a fresh hook interval. */
    const char *window =
        "local resume = %s\n"
        "entered = false\n"
        "coroutine.resume(coroutine.create(function() while true do end end))\n"
        "pcall(resume, coroutine.create(function() entered = true end))\n";
    char code[512];
    snprintf(code, sizeof code, window, "guard(coroutine.resume)");
    st = run(&h, code, 100000, 0);
    CHECK(st == LUA_ERRRUN && h.s.exceeded == SA_EXCEEDED_INSTRUCTIONS, "guarded resume: status %d", st);
    lua_getglobal(h.L, "entered");
    CHECK(lua_isboolean(h.L, -1) && !lua_toboolean(h.L, -1), "a coroutine was entered after the budget was exceeded");
    snprintf(code, sizeof code, window, "coroutine.resume");
    st = run(&h, code, 100000, 0);
    (void)st;  /* the chunk may well end before the main thread's next hook */
    lua_getglobal(h.L, "entered");
    CHECK(lua_toboolean(h.L, -1), "the unguarded resume should enter (the case tests nothing)");
    /* A coroutine the hook's error killed is not closed later (its __close would run unhooked). */
    st = run(&h,
             "co = coroutine.create(function()\n"
             "  local _ <close> = setmetatable({}, {__close = function() closed = true end})\n"
             "  while true do end end)\n"
             "coroutine.resume(co)",
             100000, 0);
    CHECK(h.s.exceeded == SA_EXCEEDED_INSTRUCTIONS, "killing: status %d, exceeded %d", st, h.s.exceeded);
    st = run(&h, "local close = guard(coroutine.close, 1) local ok, e = close(co) return ok, e, closed", 100000, 0);
    CHECK(st == LUA_OK, "close: status %d: %s", st, error_message(h.L));
    CHECK(!lua_toboolean(h.L, 2), "close returned true");
    CHECK(strstr(lua_tostring(h.L, 3), "stopped by the budget") != NULL, "close message %s", lua_tostring(h.L, 3));
    CHECK(!lua_toboolean(h.L, 4), "__close ran");
    lua_pushnil(h.L);
    lua_setglobal(h.L, "co");
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

static void test_proxy_pairs(void) {
    current = "read-only proxy pairs";
    host_state h;
    open_state(&h, 64u << 20);
    lua_settop(h.L, 0);
    lua_newtable(h.L);                      /* proxy */
    lua_newtable(h.L);                      /* metatable */
    lua_newtable(h.L);                      /* real */
    lua_pushinteger(h.L, 1);
    lua_setfield(h.L, -2, "a");
    lua_pushinteger(h.L, 2);
    lua_setfield(h.L, -2, "b");
    lua_pushvalue(h.L, -1);
    lua_setfield(h.L, -3, "__index");
    sa_push_proxy_pairs(h.L);               /* pops real */
    lua_setfield(h.L, -2, "__pairs");
    lua_setmetatable(h.L, -2);
    lua_setglobal(h.L, "proxy");
    int st = run(&h, "local n, sum = 0, 0 for k, v in pairs(proxy) do n = n + 1 sum = sum + v end return n, sum, proxy.b", 100000, 0);
    CHECK(st == LUA_OK, "status %d: %s", st, error_message(h.L));
    CHECK(lua_tointeger(h.L, 2) == 2 && lua_tointeger(h.L, 3) == 3 && lua_tointeger(h.L, 4) == 2, "pairs over the real table");
    CHECK(close_state(&h), "bytes left after lua_close");
    printf("ok %s\n", current);
}

int main(void) {
    test_results_and_wrappers();
    test_instruction_budget();
    test_time_budget();
    test_memory_cap();
    test_trampoline_statuses();
    test_message_handler();
    test_coroutines();
    test_proxy_pairs();
    printf("shim: %d failed\n", failures);
    return failures;
}
