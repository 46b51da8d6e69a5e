"""`python -m bench`: the same as `thb bench`."""
from ui.cli_bench import bench

bench(prog_name="python -m bench")
