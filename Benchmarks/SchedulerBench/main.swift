print("SchedulerBench: not implemented yet")
