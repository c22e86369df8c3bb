"""Processes and servers that both the benchmarks and the test suite drive: a live stack, an
OPA REST stand-in, and uvicorn on a free port."""
