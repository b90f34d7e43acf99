/*
 * kside.c: everything in one translation unit, the one file rump-bake
 * compiles with the toolchain's compiler.
 */
#include "archive.c"
#include "json.c"
#include "config.c"
#include "kernel.c"
