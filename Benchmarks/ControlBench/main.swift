print("ControlBench: not implemented yet")
