// Zstd: placeholder until its issue lands.
