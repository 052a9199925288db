// DataShards: placeholder until its issue lands.
