// APITypes: placeholder until its issue lands.
