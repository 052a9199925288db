print("TokenizerBench: not implemented yet")
