"""`python -m bench`: the same as `thb bench`."""
from bench.cli import bench

bench(prog_name="python -m bench")
