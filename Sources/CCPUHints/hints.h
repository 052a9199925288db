// CPU hints Swift cannot spell: a compiler builtin, no library. Used only by DataShards/Stream/Prefetch.swift.
#pragma once
static inline void ccpuhints_prefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
