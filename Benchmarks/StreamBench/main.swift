print("StreamBench: not implemented yet")
