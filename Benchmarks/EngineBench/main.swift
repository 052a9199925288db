print("EngineBench: not implemented yet")
