// Gzip: placeholder until its issue lands.
