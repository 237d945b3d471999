"""One module per benchmark workload: `build(quick) -> harness.Bench` or `run(quick, harness) -> rows`."""
