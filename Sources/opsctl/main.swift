print("opsctl: not implemented yet")
