// Workers: placeholder until its issue lands.
