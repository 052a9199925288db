// HTTPClient: placeholder until its issue lands.
