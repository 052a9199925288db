// Control: placeholder until its issue lands.
