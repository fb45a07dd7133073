"""The speed harness behind `benchmarks/run_all.py`: each measurement runs in its own
subprocess (`python -m speed.worker JOB.json`), and `report` turns the results into ratios,
targets and tables."""
