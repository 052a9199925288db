// Scheduler: placeholder until its issue lands.
