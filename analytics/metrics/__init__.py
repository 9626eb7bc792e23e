"""Customer metrics as plain functions over pandas DataFrames and numpy arrays.

No Django here: each module is tested with small frames and benchmarked on its own.
"""
