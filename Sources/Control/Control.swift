// Control: the control plane (REST API, PostgreSQL store, scheduling loop).
