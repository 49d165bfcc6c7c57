"""Around a running job: checkpoint files, the graph compile cache, interruption, debug modes."""
