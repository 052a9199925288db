// CPU hints Swift cannot spell: a compiler builtin, no library. Used only by DataShards/Stream/Prefetch.swift.
#pragma once
static inline void ccpuhints_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
/* One line into the outer caches only: starts the address translation (and the DRAM row) early. */
static inline void ccpuhints_prefetch_far(const void *address) { __builtin_prefetch(address, 0, 1); }
