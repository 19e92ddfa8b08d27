/*
 * The Debian liblua5.4 as a Swift module: its three public headers, nothing of ours. Our C
 * (budgets, trampolines, the allocator, wrappers for lua.h's macros) is the CLuaShim target.
 */
#ifndef SUPERALIGN_CLUA_H
#define SUPERALIGN_CLUA_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#endif
