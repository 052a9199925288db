// BLAS: placeholder until its issue lands.
